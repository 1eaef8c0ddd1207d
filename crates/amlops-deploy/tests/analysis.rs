//! Canary analysis in the rollout, against an in-memory fake of the Azure ML operations whose Azure Monitor answers
//! are computed per minute from each deployment's configured traffic, latency and errors: a slow canary rolls back
//! to the exact previous split naming the rule, a healthy one reaches 100% with the summary table, too few requests
//! are inconclusive (fail, or pass when asked), and rules are checked before any call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{CancellationToken, Inputs, Output, PipelineContext, TaskEnv};
use amlops_azureml::AzureMlError;
use amlops_azureml::models::{
    EndpointAuthMode, OnlineDeployment, OnlineDeploymentProperties, OnlineEndpoint, OnlineEndpointProperties,
    ProvisioningState,
};
use amlops_azureml::monitor::{MetricsQuery, MetricsResponse};
use amlops_deploy::DeployError;
use amlops_deploy::analysis::{AnalysisSettings, Inconclusive};
use amlops_deploy::api::{DeployApi, Scored};
use amlops_deploy::flow::{Deploy, Timing, WorkspaceRef};
use amlops_deploy::inputs::{DeploymentSource, EndpointSource, ModelRef, Settings};
use amlops_deploy::traffic::Strategy;
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;

const WS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";

/// How one deployment behaves, per minute.
#[derive(Clone, Copy)]
struct Behaviour {
    requests: f64,
    errors: f64,
    p95: f64,
}

#[derive(Default)]
struct State {
    endpoint: Option<OnlineEndpoint>,
    deployments: BTreeMap<String, OnlineDeployment>,
    endpoint_puts: Vec<Value>,
    deletes: Vec<String>,
    behaviour: BTreeMap<String, Behaviour>,
    /// (first minute, minute after the last) of every endpoint metrics query.
    windows: Vec<(OffsetDateTime, OffsetDateTime)>,
    /// The metric names of every endpoint query.
    queried: Vec<String>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    fn new(traffic: &[(&str, i64)], behaviour: &[(&str, Behaviour)]) -> Self {
        let f = Fake::default();
        {
            let mut s = f.lock();
            let mut props = OnlineEndpointProperties {
                auth_mode: Some(EndpointAuthMode::Key),
                scoring_uri: Some("https://ep.example/score".into()),
                provisioning_state: Some(ProvisioningState::Succeeded),
                ..Default::default()
            };
            props.traffic = Some(traffic.iter().map(|(k, v)| (k.to_string(), *v)).collect());
            let mut ep = OnlineEndpoint::new(props);
            ep.name = Some("churn-ep".into());
            s.endpoint = Some(ep);
            for (name, _) in traffic {
                let mut d = OnlineDeployment::new(OnlineDeploymentProperties::default());
                d.name = Some(name.to_string());
                d.extra
                    .insert("systemData".into(), json!({"createdAt": "2026-11-01T00:00:00Z"}));
                s.deployments.insert(name.to_string(), d);
            }
            s.behaviour = behaviour.iter().map(|(k, b)| (k.to_string(), *b)).collect();
        }
        f
    }

    /// The live and mirror splits the endpoint went through, from the one it started with (PUTs that change
    /// neither are left out).
    fn splits(&self, start: Value) -> Vec<Value> {
        let mut seq = vec![start];
        for b in &self.lock().endpoint_puts {
            let p = &b["properties"];
            let mirror = p["mirrorTraffic"].as_object().filter(|m| !m.is_empty());
            let split = match mirror {
                Some(m) => json!({"traffic": p["traffic"], "mirror": m}),
                None => p["traffic"].clone(),
            };
            if seq.last() != Some(&split) {
                seq.push(split);
            }
        }
        seq
    }
}

fn minutes(q: &MetricsQuery<'_>) -> Vec<OffsetDateTime> {
    let mut out = Vec::new();
    let mut t = q.start;
    while t < q.end {
        out.push(t);
        t += time::Duration::minutes(1);
    }
    out
}

fn stamp(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap()
}

#[async_trait]
impl DeployApi for Fake {
    fn workspace_id(&self) -> String {
        WS.into()
    }
    async fn location(&self) -> Result<String, AzureMlError> {
        Ok("westeurope".into())
    }
    async fn get_endpoint(&self, _name: &str) -> Result<Option<OnlineEndpoint>, AzureMlError> {
        Ok(self.lock().endpoint.clone())
    }
    async fn put_endpoint(&self, _name: &str, body: &OnlineEndpoint) -> Result<OnlineEndpoint, AzureMlError> {
        let mut s = self.lock();
        s.endpoint_puts.push(serde_json::to_value(body).unwrap());
        let mut ep = body.clone();
        ep.properties.scoring_uri = Some("https://ep.example/score".into());
        s.endpoint = Some(ep.clone());
        Ok(ep)
    }
    async fn get_deployment(&self, _ep: &str, name: &str) -> Result<Option<OnlineDeployment>, AzureMlError> {
        Ok(self.lock().deployments.get(name).cloned())
    }
    async fn put_deployment(
        &self,
        _ep: &str,
        name: &str,
        body: &OnlineDeployment,
    ) -> Result<OnlineDeployment, AzureMlError> {
        let mut d = body.clone();
        d.name = Some(name.into());
        d.properties.provisioning_state = Some(ProvisioningState::Succeeded);
        self.lock().deployments.insert(name.into(), d.clone());
        Ok(d)
    }
    async fn delete_deployment(&self, _ep: &str, name: &str) -> Result<(), AzureMlError> {
        let mut s = self.lock();
        s.deletes.push(name.into());
        s.deployments.remove(name);
        Ok(())
    }
    async fn list_deployments(&self, _ep: &str) -> Result<Vec<OnlineDeployment>, AzureMlError> {
        Ok(self.lock().deployments.values().cloned().collect())
    }
    async fn logs(&self, _ep: &str, _name: &str, _container: &str) -> Result<String, AzureMlError> {
        Ok(String::new())
    }
    async fn scoring_secret(&self, _ep: &str, _auth: &EndpointAuthMode) -> Result<String, AzureMlError> {
        Ok("k".into())
    }
    async fn invoke(&self, _u: &str, _s: &str, _d: &str, _b: &Value) -> Result<Scored, AzureMlError> {
        Ok(Scored {
            status: 200,
            body: b"[1]".to_vec(),
        })
    }
    async fn upload_code(&self, _f: &Path, _i: &[PathBuf]) -> Result<UploadOutcome, AzureMlError> {
        unreachable!("no code is uploaded")
    }
    async fn send(&self, _r: &RestRequest) -> Result<(), AzureMlError> {
        Ok(())
    }

    /// Requests per deployment and status code class, or latency per deployment, for every minute asked for; the
    /// last minute of the window is left empty (Azure Monitor publishes late).
    async fn endpoint_metrics(
        &self,
        _endpoint: &str,
        q: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        let mut s = self.lock();
        s.windows.push((q.start, q.end));
        s.queried.push(q.names.join(","));
        let mins = minutes(q);
        let published = &mins[..mins.len().saturating_sub(1)];
        let mut value = Vec::new();
        for name in q.names {
            let mut series = Vec::new();
            for (dep, b) in &s.behaviour {
                if *name == "RequestsPerMinute" {
                    for (class, n) in [("2xx", b.requests - b.errors), ("5xx", b.errors)] {
                        series.push(json!({
                            "metadatavalues": [
                                {"name": {"value": "deployment"}, "value": dep},
                                {"name": {"value": "statuscodeclass"}, "value": class}
                            ],
                            "data": published.iter().map(|t| json!({"timeStamp": stamp(*t), "total": n})).collect::<Vec<_>>()
                        }));
                    }
                } else {
                    let factor = match *name {
                        "RequestLatency_P50" => 0.5,
                        "RequestLatency_P90" => 0.9,
                        "RequestLatency_P95" => 1.0,
                        _ => 1.5,
                    };
                    series.push(json!({
                        "metadatavalues": [{"name": {"value": "deployment"}, "value": dep}],
                        "data": published.iter().map(|t| json!({"timeStamp": stamp(*t), "average": b.p95 * factor})).collect::<Vec<_>>()
                    }));
                }
            }
            value.push(json!({"name": {"value": name}, "unit": "Count", "timeseries": series, "errorCode": "Success"}));
        }
        Ok(serde_json::from_value(json!({"timespan": "", "interval": "PT1M", "value": value})).unwrap())
    }

    async fn deployment_metrics(
        &self,
        _endpoint: &str,
        deployment: &str,
        q: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        let cpu = if deployment == "green" { 70.0 } else { 35.0 };
        let data: Vec<Value> = minutes(q)
            .iter()
            .map(|t| json!({"timeStamp": stamp(*t), "average": cpu}))
            .collect();
        Ok(serde_json::from_value(json!({"timespan": "", "value": [
            {"name": {"value": "CpuUtilizationPercentage"}, "timeseries": [{"metadatavalues": [], "data": data}]},
            {"name": {"value": "DeploymentCapacity"}, "timeseries": [{"metadatavalues": [], "data": [
                {"timeStamp": stamp(q.start), "average": 2.0}
            ]}]}
        ]}))
        .unwrap())
    }
}

const RULES: &str = "canary.error_rate <= 0.01\ncanary.latency_p95 <= baseline.latency_p95 * 1.2 + 20\n";

fn analysis(rules: &str, min_requests: u64, inconclusive: Inconclusive) -> AnalysisSettings {
    AnalysisSettings {
        rules: amlops_deploy::analysis::parse(rules).unwrap(),
        min_requests,
        inconclusive,
        interval: Duration::from_secs(60),
    }
}

fn settings(analysis: AnalysisSettings) -> Settings {
    Settings {
        resource_group: "g".into(),
        workspace: "w".into(),
        endpoint: EndpointSource::Named {
            name: "churn-ep".into(),
            auth_mode: "key".into(),
        },
        deployment: DeploymentSource::Model {
            model: ModelRef::Workspace {
                name: "churn".into(),
                version: "3".into(),
            },
            instance_type: "Standard_DS3_v2".into(),
            instance_count: 1,
            environment: None,
            code_path: None,
            scoring_script: None,
        },
        deployment_name: "green".into(),
        strategy: Strategy::Canary,
        traffic_steps: vec![10, 50, 100],
        step_wait: Duration::from_secs(300),
        mirror_percent: 0,
        smoke: None,
        rollback_on_failure: true,
        delete_failed_deployment: true,
        keep_previous: 1,
        timeout_minutes: 0,
        data_collection: None,
        analysis: Some(analysis),
    }
}

struct Run {
    result: Result<amlops_agent::Outcome, DeployError>,
    log: String,
    elapsed: Duration,
}

async fn run(fake: &Fake, settings: &Settings) -> Run {
    let (out, buf) = Output::capture(false);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = PipelineContext {
        temp_directory: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let events = amlops_events::EmitterBuilder::new(out.clone(), pipeline.clone())
        .build()
        .unwrap();
    let timing = Timing {
        poll: Duration::from_millis(50),
    };
    let workspace = WorkspaceRef {
        subscription: "s".into(),
        resource_group: "g".into(),
        workspace: "w".into(),
    };
    let cleanup = fake.clone();
    let cancel = CancellationToken::new();
    let start = tokio::time::Instant::now();
    let result = Deploy {
        out: &out,
        pipeline: &pipeline,
        cancel: &cancel,
        settings,
        api: fake,
        cleanup: &cleanup,
        timing: &timing,
        workspace: &workspace,
        events: Some(&events),
    }
    .run()
    .await;
    let elapsed = start.elapsed();
    let mut log = buf.text();
    for entry in walk(dir.path()) {
        log.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    Run { result, log, elapsed }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

const BLUE: Behaviour = Behaviour {
    requests: 900.0,
    errors: 0.0,
    p95: 100.0,
};

#[tokio::test(start_paused = true)]
async fn a_canary_eight_times_slower_rolls_back_to_the_previous_split_naming_the_rule() {
    let slow = Behaviour {
        requests: 100.0,
        errors: 0.0,
        p95: 800.0,
    };
    let fake = Fake::new(
        &[("blue", 70), ("red", 30)],
        &[("blue", BLUE), ("red", BLUE), ("green", slow)],
    );
    let r = run(&fake, &settings(analysis(RULES, 50, Inconclusive::Fail))).await;
    let e = r.result.expect_err("the analysis must stop the rollout");
    let msg = e.to_string();
    assert!(matches!(e, DeployError::RolledBack { .. }), "{msg}");
    assert!(
        msg.contains("the canary analysis failed at 10% on the rule `canary.latency_p95 <= baseline.latency_p95 * 1.2 + 20`"),
        "{msg}"
    );
    assert!(msg.contains("canary.latency_p95 = 800"), "{msg}");
    assert!(msg.contains("baseline.latency_p95 = 100"), "{msg}");
    assert!(
        msg.contains("blue 70%, red 30%; deployment 'green' deleted"),
        "{msg}"
    );
    // Stopped at the first poll (60 s), not at the end of the 300 s wait, and never went to 50%.
    assert!(r.elapsed < Duration::from_secs(120), "{:?}", r.elapsed);
    assert_eq!(
        fake.splits(json!({"blue": 70, "red": 30})),
        vec![
            json!({"blue": 70, "red": 30}),
            json!({"blue": 63, "green": 10, "red": 27}),
            json!({"blue": 70, "red": 30}),
        ]
    );
    assert_eq!(fake.lock().deletes, vec!["green".to_string()]);
    assert!(
        r.log.contains(
            "variable=failedAnalysis;isoutput=true;]canary.latency_p95 <= baseline.latency_p95 * 1.2 + 20"
        ),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("variable=analysisPassed;isoutput=true;]false"),
        "{}",
        r.log
    );
    // The summary: the step, its window and the failing rule with its values.
    assert!(r.log.contains("#### Canary analysis"), "{}", r.log);
    assert!(
        r.log
            .contains("**Step 10%**: traffic blue 63%, green 10%, red 27%"),
        "{}",
        r.log
    );
    assert!(r.log.contains("| latency_p95 | 800 | 100 |"), "{}", r.log);
    assert!(
        r.log
            .contains("| `canary.latency_p95 <= baseline.latency_p95 * 1.2 + 20` | FAILED |"),
        "{}",
        r.log
    );
    // The deployment.rolledBack event (audit file) carries the failing rule and its values.
    let audit = r
        .log
        .lines()
        .find(|l| l.contains("deployment.rolledBack") && l.starts_with('{'))
        .unwrap_or_else(|| panic!("no rolledBack event in the audit trail:\n{}", r.log));
    let event: Value = serde_json::from_str(audit).unwrap();
    let detail = &event["data"]["details"]["analysis"];
    assert_eq!(
        detail["failedRule"]["rule"],
        "canary.latency_p95 <= baseline.latency_p95 * 1.2 + 20"
    );
    assert_eq!(detail["failedRule"]["values"]["canary.latency_p95"], 800.0);
    assert_eq!(detail["failedRule"]["values"]["baseline.latency_p95"], 100.0);
    assert_eq!(detail["failedRule"]["right"], 140.0);
}

#[tokio::test(start_paused = true)]
async fn a_healthy_canary_reaches_100_percent_with_the_summary_table() {
    let healthy = Behaviour {
        requests: 100.0,
        errors: 0.0,
        p95: 105.0,
    };
    let fake = Fake::new(&[("blue", 100)], &[("blue", BLUE), ("green", healthy)]);
    let r = run(&fake, &settings(analysis(RULES, 50, Inconclusive::Fail))).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(
        fake.splits(json!({"blue": 100})),
        vec![
            json!({"blue": 100}),
            json!({"blue": 90, "green": 10}),
            json!({"blue": 50, "green": 50}),
            json!({"green": 100}),
        ]
    );
    // 300 s waits polled every 60 s: five polls per step, two queries (requests, latency) each, two steps.
    let s = fake.lock();
    assert_eq!(s.windows.len(), 20);
    assert!(s.queried.contains(&"RequestsPerMinute".to_string()));
    assert!(s.queried.contains(
        &"RequestLatency_P50,RequestLatency_P90,RequestLatency_P95,RequestLatency_P99".to_string()
    ));
    // Each window starts at the step's first minute and grows by a minute per poll.
    let (first_start, first_end) = s.windows[0];
    assert_eq!(first_end - first_start, time::Duration::minutes(2));
    assert_eq!(s.windows[4].0, first_start);
    assert_eq!(s.windows[8].1 - s.windows[8].0, time::Duration::minutes(6));
    drop(s);
    assert!(
        r.log.contains("variable=analysisPassed;isoutput=true;]true"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("variable=failedAnalysis;isoutput=true;]"),
        "{}",
        r.log
    );
    for needle in [
        "**Step 10%**: traffic blue 90%, green 10%; mirror none",
        "**Step 50%**: traffic blue 50%, green 50%; mirror none",
        "(5 poll(s); minutes with data: ",
        "| Metric | Canary (green) | Baseline (blue) |",
        "| requests | 500 | 4500 |",
        "| error_rate | 0 | 0 |",
        "| latency_p95 | 105 | 100 |",
        "| latency_p50 | 52.5 | 50 |",
        "| requests_per_minute | 100 | 900 |",
        "| cpu | 70 | 35 |",
        "| memory | – | – |",
        "| instances | 2 | 2 |",
        "| `canary.error_rate <= 0.01` | passed | canary.error_rate = 0",
        "| `canary.latency_p95 <= baseline.latency_p95 * 1.2 + 20` | passed |",
    ] {
        assert!(r.log.contains(needle), "{needle}\n{}", r.log);
    }
}

#[tokio::test(start_paused = true)]
async fn too_few_requests_are_inconclusive_and_fail_by_default() {
    let quiet = Behaviour {
        requests: 2.0,
        errors: 0.0,
        p95: 90.0,
    };
    let fake = Fake::new(&[("blue", 100)], &[("blue", BLUE), ("green", quiet)]);
    let r = run(&fake, &settings(analysis(RULES, 50, Inconclusive::Fail))).await;
    let msg = r.result.expect_err("inconclusive must fail").to_string();
    assert!(msg.contains("inconclusive"), "{msg}");
    assert!(
        msg.contains("fewer than 50 (input 'analysisMinRequests')"),
        "{msg}"
    );
    // It waited the whole step (300 s) before deciding.
    assert!(r.elapsed >= Duration::from_secs(300), "{:?}", r.elapsed);
    assert_eq!(
        fake.splits(json!({"blue": 100})),
        vec![
            json!({"blue": 100}),
            json!({"blue": 90, "green": 10}),
            json!({"blue": 100})
        ]
    );
    assert!(
        r.log
            .contains("variable=failedAnalysis;isoutput=true;]inconclusive: "),
        "{}",
        r.log
    );
    assert!(r.log.contains("INCONCLUSIVE, failed"), "{}", r.log);
}

#[tokio::test(start_paused = true)]
async fn too_few_requests_pass_with_analysis_inconclusive_pass() {
    let quiet = Behaviour {
        requests: 2.0,
        errors: 0.0,
        p95: 90.0,
    };
    let fake = Fake::new(&[("blue", 100)], &[("blue", BLUE), ("green", quiet)]);
    let r = run(&fake, &settings(analysis(RULES, 50, Inconclusive::Pass))).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(
        fake.splits(json!({"blue": 100})).last(),
        Some(&json!({"green": 100}))
    );
    assert!(
        r.log
            .contains("it passes because 'analysisInconclusive' is 'pass'"),
        "{}",
        r.log
    );
    assert!(r.log.contains("inconclusive, passed"), "{}", r.log);
    assert!(
        r.log.contains("variable=analysisPassed;isoutput=true;]true"),
        "{}",
        r.log
    );
}

#[tokio::test(start_paused = true)]
async fn errors_fail_the_canary_and_the_mirror_phase_is_analysed_too() {
    let failing = Behaviour {
        requests: 100.0,
        errors: 5.0,
        p95: 100.0,
    };
    let fake = Fake::new(&[("blue", 100)], &[("blue", BLUE), ("green", failing)]);
    let mut s = settings(analysis(RULES, 50, Inconclusive::Fail));
    s.mirror_percent = 20;
    let r = run(&fake, &s).await;
    let msg = r.result.expect_err("5% errors must fail").to_string();
    assert!(
        msg.contains(
            "failed at mirror 20% on the rule `canary.error_rate <= 0.01` (canary.error_rate = 0.05"
        ),
        "{msg}"
    );
    // Live traffic never moved: the mirror was set, then removed.
    assert_eq!(
        fake.splits(json!({"blue": 100})),
        vec![
            json!({"blue": 100}),
            json!({"traffic": {"blue": 100}, "mirror": {"green": 20}}),
            json!({"blue": 100}),
        ]
    );
}

fn read(pairs: &[(&str, &str)]) -> Result<Settings, DeployError> {
    let base = [
        ("resourceGroup", "rg"),
        ("workspace", "ws"),
        ("endpointName", "churn-ep"),
        ("model", "azureml:churn-model:12"),
        ("strategy", "canary"),
    ];
    let env = TaskEnv::from_map(
        base.iter()
            .chain(pairs)
            .map(|(k, v)| (amlops_agent::env::input_env_name(k), v.to_string())),
    );
    Settings::read(&Inputs::new(&env))
}

#[test]
fn analysis_inputs_defaults_and_errors_pointing_at_the_character() {
    let s = read(&[("analysis", RULES)]).unwrap();
    let a = s.analysis.unwrap();
    assert_eq!(a.rules.len(), 2);
    assert_eq!(a.min_requests, 50);
    assert_eq!(a.inconclusive, Inconclusive::Fail);
    assert_eq!(a.interval, Duration::from_secs(60));
    let s = read(&[
        ("analysis", "canary.cpu < 90"),
        ("analysisMinRequests", "10"),
        ("analysisInconclusive", "pass"),
    ])
    .unwrap();
    let a = s.analysis.unwrap();
    assert_eq!((a.min_requests, a.inconclusive), (10, Inconclusive::Pass));
    assert!(read(&[]).unwrap().analysis.is_none());

    let msg = read(&[(
        "analysis",
        "canary.error_rate <= 0.01\ncanary.latency_p95 <= baseline.latency_p9 * 1.2",
    )])
    .unwrap_err()
    .to_string();
    assert!(
        msg.contains("line 2 is not a valid rule: at character 32: unknown metric `baseline.latency_p9`"),
        "{msg}"
    );
    assert!(
        msg.ends_with("canary.latency_p95 <= baseline.latency_p9 * 1.2\n                               ^"),
        "{msg}"
    );
    let msg = read(&[("analysis", "canary.latency_p95 => 5")])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("at character 20: `=>` is not an operator; use `>=`"),
        "{msg}"
    );
    let msg = read(&[("analysis", "candidate.error_rate < 1")])
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("write canary.candidate.error_rate or baseline.candidate.error_rate"),
        "{msg}"
    );
    let msg = read(&[("analysis", "canary.cpu < 1"), ("analysisInconclusive", "maybe")])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("analysisInconclusive"), "{msg}");
}
