//! Faults in a long run: train -> register -> deploy (a first deployment, then a canary) against the local
//! workspace behind a seeded fault proxy that answers ARM calls with 409 (another operation in progress), 429 and
//! 503 with `Retry-After`, and cuts responses off mid-body (a reset after the request took effect). Every step must
//! either complete or fail with a clear error, and nothing may be left in a state the log does not name: no job
//! still running, the live split is the one the deploy step reported, and no restore note is left unless a log
//! named it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::Value;

use crate::support::{get, run_via, workspace, write_files};

/// What the proxy can do to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Fault {
    /// 409 `OperationDuplicationConflict` (writes to endpoints and deployments only).
    Busy,
    /// 429 with `Retry-After: 1`.
    Throttled,
    /// 503 with `Retry-After: 1`.
    Unavailable,
    /// Forwarded (it takes effect), then the response is cut off after half its body.
    Reset,
}

struct Shared {
    upstream: String,
    proxy: Mutex<String>,
    client: reqwest::Client,
    rng: Mutex<u64>,
    /// Faults in a row per request, so the client's retries (6 attempts) always get through in the end.
    in_a_row: Mutex<HashMap<String, u32>>,
    seen: Mutex<BTreeMap<Fault, usize>>,
    /// Faults still to inject (a cap keeps the run short).
    budget: Mutex<usize>,
}

impl Shared {
    fn random(&self) -> f64 {
        // xorshift64*: the seed fixes the sequence of decisions.
        let mut x = self.rng.lock().unwrap();
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&self, method: &str, path: &str) -> Option<Fault> {
        if !path.starts_with("/subscriptions/") {
            return None; // data plane, storage and scoring pass untouched
        }
        let key = format!("{method} {path}");
        let write = method != "GET";
        let busy_target = write && path.contains("/onlineEndpoints/");
        let seen = self.seen.lock().unwrap().clone();
        // Every kind happens at least once (the test must bite), then at random.
        let forced = if busy_target && !seen.contains_key(&Fault::Busy) {
            Some(Fault::Busy)
        } else if write && path.contains("/jobs/") && !seen.contains_key(&Fault::Reset) {
            Some(Fault::Reset)
        } else if !write && !seen.contains_key(&Fault::Throttled) {
            Some(Fault::Throttled)
        } else if !write && !seen.contains_key(&Fault::Unavailable) {
            Some(Fault::Unavailable)
        } else {
            None
        };
        let r = self.random();
        let fault = forced.or(if r < 0.03 && busy_target {
            Some(Fault::Busy)
        } else if r < 0.05 {
            Some(Fault::Throttled)
        } else if r < 0.07 {
            Some(Fault::Unavailable)
        } else if r < 0.09 {
            Some(Fault::Reset)
        } else {
            None
        })?;
        let mut in_a_row = self.in_a_row.lock().unwrap();
        let n = in_a_row.entry(key).or_insert(0);
        let mut budget = self.budget.lock().unwrap();
        if *n >= 2 || *budget == 0 {
            *n = 0;
            return None;
        }
        *n += 1;
        *budget -= 1;
        *self.seen.lock().unwrap().entry(fault).or_insert(0) += 1;
        Some(fault)
    }
}

fn host_of(url: &str) -> String {
    url.trim_end_matches('/')
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// Replace one address by the other in text bodies and header values (URLs of the workspace point at itself).
fn rewrite(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains(from) => text.replace(from, to).into_bytes(),
        _ => bytes.to_vec(),
    }
}

const HOP: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
];

async fn handle(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let proxy = s.proxy.lock().unwrap().clone();
    let (up_host, proxy_host) = (host_of(&s.upstream), host_of(&proxy));
    let fault = s.pick(&method, &path);
    let status_only = |status: StatusCode, body: &'static str| {
        Response::builder()
            .status(status)
            .header("retry-after", "1")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    match fault {
        Some(Fault::Busy) => {
            return status_only(
                StatusCode::CONFLICT,
                r#"{"error":{"code":"Conflict","message":"Conflict","details":[{"code":"OperationDuplicationConflict","message":"Conflict of operation, another operation on same entity is already running in workspace local."}]}}"#,
            );
        }
        Some(Fault::Throttled) => {
            return status_only(
                StatusCode::TOO_MANY_REQUESTS,
                r#"{"error":{"code":"TooManyRequests","message":"throttled by the fault proxy"}}"#,
            );
        }
        Some(Fault::Unavailable) => {
            return status_only(
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"error":{"code":"ServiceUnavailable","message":"unavailable (fault proxy)"}}"#,
            );
        }
        Some(Fault::Reset) | None => {}
    }
    let mut rb = s.client.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path_and_query}", s.upstream.trim_end_matches('/')),
    );
    for (k, v) in &headers {
        if !HOP.contains(&k.as_str()) {
            let v = rewrite(v.as_bytes(), &proxy_host, &up_host);
            rb = rb.header(k.as_str(), v);
        }
    }
    let upstream = match rb.body(rewrite(&body, &proxy_host, &up_host)).send().await {
        Ok(r) => r,
        Err(e) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(format!("fault proxy: {e}")))
                .unwrap();
        }
    };
    let status = upstream.status().as_u16();
    let mut out_headers = HeaderMap::new();
    for (k, v) in upstream.headers() {
        if !HOP.contains(&k.as_str()) {
            let v = rewrite(v.as_bytes(), &up_host, &proxy_host);
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(k.as_str().as_bytes()),
                HeaderValue::from_bytes(&v),
            ) {
                out_headers.append(name, value);
            }
        }
    }
    let bytes = upstream.bytes().await.unwrap_or_default();
    let bytes = Bytes::from(rewrite(&bytes, &up_host, &proxy_host));
    let body = if fault == Some(Fault::Reset) {
        // Announce the whole body, send half, then fail the stream: the connection is cut mid-response.
        out_headers.insert(
            "content-length",
            HeaderValue::from_str(&bytes.len().max(2).to_string()).unwrap(),
        );
        let half = bytes.slice(..bytes.len() / 2);
        Body::from_stream(futures::stream::iter(vec![
            Ok::<Bytes, std::io::Error>(half),
            Err(std::io::Error::other("connection reset by the fault proxy")),
        ]))
    } else {
        Body::from(bytes)
    };
    let mut resp = Response::builder().status(status).body(body).unwrap();
    *resp.headers_mut() = out_headers;
    resp
}

/// Start the proxy in front of `upstream`; returns its base URL and the faults it injected.
async fn start_proxy(upstream: &str, seed: u64) -> (String, Arc<Shared>) {
    let shared = Arc::new(Shared {
        upstream: upstream.to_string(),
        proxy: Mutex::new(String::new()),
        client: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        rng: Mutex::new(seed.max(1)),
        in_a_row: Mutex::new(HashMap::new()),
        seen: Mutex::new(BTreeMap::new()),
        budget: Mutex::new(40),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    *shared.proxy.lock().unwrap() = url.clone();
    let app = axum::Router::new().fallback(handle).with_state(shared.clone());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, shared)
}

const CONN: &str =
    "    inputs:\n      azureSubscription: local\n      resourceGroup: local\n      workspace: local\n";
const SCORE: &str = "import json\n\ndef init():\n    pass\n\ndef run(raw):\n    return {\"ok\": True, \"n\": len(json.loads(raw)[\"data\"])}\n";

fn deploy_step(name: &str, extra: &str) -> String {
    format!(
        "  - task: AzureMLDeploy@1\n    name: {name}\n{CONN}      endpointName: churn\n      model: $(reg.modelId)\n      \
         deploymentName: {name}\n      codePath: score\n      scoringScript: score.py\n      \
         environment: azureml://registries/azureml/environments/sklearn-1.5/labels/latest\n      \
         smokeTestRequest: request.json\n      smokeTestExpect: /ok=true\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn train_register_deploy_through_seeded_faults_leave_nothing_unnamed() {
    let seed: u64 = 20_261_206;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    write_files(
        &root,
        &[
            (
                "src/train.py",
                "import os\nos.makedirs('outputs', exist_ok=True)\nopen('outputs/model.json', 'w').write('{\"w\": [1]}')\nprint('trained', flush=True)\n",
            ),
            (
                "job.yml",
                "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\ntype: command\n\
                 command: python train.py\ncode: ./src\nenvironment:\n  image: python:3.11-slim\n",
            ),
            ("model/model.json", "{\"weights\": [1, 2]}\n"),
            ("score/score.py", SCORE),
            ("request.json", "{\"data\": [[1, 2]]}\n"),
        ],
    );
    let ws = workspace(&dir.path().join("state")).await;
    let (proxy, faults) = start_proxy(ws.base_url(), seed).await;
    let pipeline = format!(
        "steps:\n  - task: AzureMLTrain@1\n    name: train\n{CONN}      jobFile: job.yml\n      jobName: faulty-1\n\
         \x20 - task: AzureMLRegister@1\n    name: reg\n{CONN}      modelName: churn\n      modelPath: model\n      jobName: $(train.jobName)\n{}{}",
        deploy_step("blue", ""),
        deploy_step(
            "green",
            "      strategy: canary\n      trafficSteps: 50,100\n      stepWaitSeconds: 0\n"
        ),
    );
    let reports = run_via(&ws, &proxy, &root, &pipeline).await;
    let seen = faults.seen.lock().unwrap().clone();
    let context = format!("seed {seed}, faults {seen:?}, steps {reports:#?}");
    for kind in [Fault::Busy, Fault::Throttled, Fault::Unavailable, Fault::Reset] {
        assert!(seen.contains_key(&kind), "{kind:?} was never injected: {context}");
    }

    // Every step completed, or failed with a clear error.
    for r in &reports {
        match r.result.as_str() {
            "Succeeded" | "SucceededWithIssues" => {}
            "Failed" => assert!(
                r.errors.iter().any(|e| e.len() > 20),
                "step {} failed without a clear error: {context}",
                r.title
            ),
            other => panic!("step {} ended {other}: {context}", r.title),
        }
        for e in &r.errors {
            assert!(!e.contains("panicked"), "a panic in {}: {e}", r.title);
        }
    }
    let all_text: String = reports
        .iter()
        .flat_map(|r| r.errors.iter().cloned())
        .collect::<Vec<_>>()
        .join("\n");

    // No job left running.
    let job = get(&ws, "jobs/faulty-1").await.unwrap();
    let status = job["properties"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ["Completed", "Failed", "Canceled"].contains(&status.as_str()) || all_text.contains("faulty-1"),
        "job faulty-1 is {status} and no log names it: {context}"
    );

    // The live split is the one the last deploy step that ran reported, or a log names what happened to it.
    let endpoint = get(&ws, "onlineEndpoints/churn").await.unwrap();
    let traffic = endpoint["properties"]["traffic"].clone();
    let last_deploy = reports
        .iter()
        .rev()
        .find(|r| r.title == "green" || r.title == "blue");
    if let Some(step) = last_deploy
        && let Some(reported) = step.outputs.get("traffic")
    {
        let reported: Value = serde_json::from_str(reported).unwrap();
        let live: BTreeMap<String, i64> = serde_json::from_value(traffic.clone()).unwrap_or_default();
        let live: BTreeMap<String, i64> = live.into_iter().filter(|(_, v)| *v > 0).collect();
        let reported: BTreeMap<String, i64> = serde_json::from_value(reported).unwrap_or_default();
        assert!(
            live == reported || all_text.contains("traffic"),
            "live traffic {live:?}, the step reported {reported:?}: {context}"
        );
    }
    // No restore note is left behind unless a log named it.
    let tags = endpoint["tags"].clone();
    assert!(
        tags.get("amlops.restoreTraffic").is_none() || all_text.contains("amlops.restoreTraffic"),
        "the endpoint keeps a restore note no log names: {tags}: {context}"
    );
    // Every deployment that takes traffic exists and has provisioned.
    if let Some(split) = traffic.as_object() {
        for (name, pct) in split {
            if pct.as_i64().unwrap_or(0) > 0 {
                let d = get(&ws, &format!("onlineEndpoints/churn/deployments/{name}"))
                    .await
                    .unwrap();
                assert_eq!(
                    d["properties"]["provisioningState"], "Succeeded",
                    "{name}: {d}: {context}"
                );
            }
        }
    }
    // With this seed the whole run gets through its faults.
    let results: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r.title.as_str(), r.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("train", "Succeeded"),
            ("reg", "Succeeded"),
            ("blue", "Succeeded"),
            ("green", "Succeeded")
        ],
        "{context}"
    );
    assert_eq!(traffic, serde_json::json!({"green": 100}), "{context}");
    ws.shutdown().await.unwrap();
}
