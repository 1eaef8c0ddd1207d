//! The rollout flow against an in-memory fake of the Azure ML operations: traffic PUT bodies, smoke tests,
//! rollback, cancellation, provisioning failures, clean-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{CancellationToken, Output, PipelineContext, is_canceled};
use amlops_azureml::models::{
    EndpointAuthMode, OnlineDeployment, OnlineDeploymentProperties, OnlineEndpoint, OnlineEndpointProperties,
    ProvisioningState,
};
use amlops_azureml::{AzureMlError, ErrorKind};
use amlops_deploy::DeployError;
use amlops_deploy::api::{DeployApi, Scored};
use amlops_deploy::flow::{Deploy, Timing, WorkspaceRef};
use amlops_deploy::inputs::{DeploymentSource, EndpointSource, ModelRef, Settings};
use amlops_deploy::smoke::{Expectation, SmokeTest};
use amlops_deploy::traffic::Strategy;
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use serde_json::{Value, json};

const WS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";

#[derive(Default)]
struct State {
    endpoint: Option<OnlineEndpoint>,
    deployments: BTreeMap<String, OnlineDeployment>,
    /// Bodies of every endpoint PUT.
    endpoint_puts: Vec<Value>,
    deployment_puts: Vec<(String, Value)>,
    deletes: Vec<String>,
    /// (deployment header, secret) of every scoring call.
    invokes: Vec<(String, String)>,
    /// The n-th scoring call (from 1) answers 500.
    fail_invoke: Option<usize>,
    provision_fails: bool,
    /// The deployment PUT takes this long, reading `Creating` meanwhile.
    provision_delay: Option<Duration>,
    logs: Vec<String>,
    /// Every tag replacement (PATCH), in order.
    tag_sets: Vec<BTreeMap<String, String>>,
    /// Cancel this token at the n-th endpoint PUT (from 1).
    cancel_at_put: Option<(usize, CancellationToken)>,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    fn with_endpoint(self, traffic: &[(&str, i64)], deployments: &[(&str, &str)]) -> Self {
        {
            let mut s = self.lock();
            let mut props = OnlineEndpointProperties {
                auth_mode: Some(EndpointAuthMode::Key),
                scoring_uri: Some("https://ep.example/score".into()),
                provisioning_state: Some(ProvisioningState::Succeeded),
                ..Default::default()
            };
            props.traffic = Some(traffic.iter().map(|(k, v)| (k.to_string(), *v)).collect());
            let mut ep = OnlineEndpoint::new(props);
            ep.name = Some("ep".into());
            s.endpoint = Some(ep);
            for (name, created) in deployments {
                let mut d = OnlineDeployment::new(OnlineDeploymentProperties::default());
                d.name = Some(name.to_string());
                d.extra.insert("systemData".into(), json!({"createdAt": created}));
                s.deployments.insert(name.to_string(), d);
            }
        }
        self
    }

    fn traffic_puts(&self) -> Vec<Value> {
        self.lock()
            .endpoint_puts
            .iter()
            .map(|b| b["properties"]["traffic"].clone())
            .collect()
    }
}

fn not_found(op: &str) -> AzureMlError {
    AzureMlError::new(ErrorKind::Status, op, "not found").with_response(
        404,
        &Default::default(),
        br#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#,
        false,
    )
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
    async fn put_endpoint(&self, name: &str, body: &OnlineEndpoint) -> Result<OnlineEndpoint, AzureMlError> {
        let mut s = self.lock();
        s.endpoint_puts.push(serde_json::to_value(body).unwrap());
        let n = s.endpoint_puts.len();
        if let Some((at, token)) = &s.cancel_at_put
            && *at == n
        {
            token.cancel();
        }
        let mut ep = body.clone();
        ep.name = Some(name.into());
        ep.properties.provisioning_state = Some(ProvisioningState::Succeeded);
        if ep.properties.scoring_uri.is_none() {
            ep.properties.scoring_uri = Some("https://ep.example/score".into());
        }
        s.endpoint = Some(ep.clone());
        Ok(ep)
    }
    async fn set_endpoint_tags(
        &self,
        _name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AzureMlError> {
        let mut s = self.lock();
        s.tag_sets.push(tags.clone());
        if let Some(ep) = s.endpoint.as_mut() {
            ep.tags = Some(tags.clone());
        }
        Ok(())
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
        let delay = self.lock().provision_delay;
        if let Some(delay) = delay {
            let mut d = body.clone();
            d.properties.provisioning_state = Some(ProvisioningState::Creating);
            self.lock().deployments.insert(name.into(), d);
            tokio::time::sleep(delay).await;
        }
        let mut s = self.lock();
        s.deployment_puts
            .push((name.into(), serde_json::to_value(body).unwrap()));
        let mut d = body.clone();
        d.name = Some(name.into());
        d.extra
            .insert("systemData".into(), json!({"createdAt": "2026-11-26T06:00:00Z"}));
        if s.provision_fails {
            d.properties.provisioning_state = Some(ProvisioningState::Failed);
            s.deployments.insert(name.into(), d);
            return Err(AzureMlError::new(
                ErrorKind::OperationFailed,
                "onlineDeployments.createOrUpdate",
                "the operation ended Failed",
            ));
        }
        s.deployments.insert(name.into(), d.clone());
        Ok(d)
    }
    async fn delete_deployment(&self, _ep: &str, name: &str) -> Result<(), AzureMlError> {
        let mut s = self.lock();
        s.deletes.push(name.into());
        s.deployments
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| not_found("onlineDeployments.delete"))
    }
    async fn list_deployments(&self, _ep: &str) -> Result<Vec<OnlineDeployment>, AzureMlError> {
        Ok(self.lock().deployments.values().cloned().collect())
    }
    async fn logs(&self, _ep: &str, name: &str, container: &str) -> Result<String, AzureMlError> {
        self.lock().logs.push(container.into());
        Ok(format!(
            "{container} of {name}: ImportError: no module named 'sklearn'"
        ))
    }
    async fn scoring_secret(&self, _ep: &str, auth: &EndpointAuthMode) -> Result<String, AzureMlError> {
        Ok(format!("secret-for-{auth}"))
    }
    async fn invoke(
        &self,
        _uri: &str,
        secret: &str,
        deployment: &str,
        _body: &Value,
    ) -> Result<Scored, AzureMlError> {
        let mut s = self.lock();
        s.invokes.push((deployment.into(), secret.into()));
        if s.fail_invoke == Some(s.invokes.len()) {
            return Ok(Scored {
                status: 500,
                body: b"model crashed".to_vec(),
            });
        }
        Ok(Scored {
            status: 200,
            body: b"[1]".to_vec(),
        })
    }
    async fn upload_code(
        &self,
        _folder: &Path,
        _includes: &[PathBuf],
    ) -> Result<UploadOutcome, AzureMlError> {
        Ok(UploadOutcome::Code {
            name: "c".into(),
            version: "1".into(),
            code_uri: "u".into(),
            hash: "h".into(),
        })
    }
    async fn send(&self, _r: &RestRequest) -> Result<(), AzureMlError> {
        Ok(())
    }
}

fn settings(strategy: Strategy) -> Settings {
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
            instance_count: 2,
            environment: None,
            code_path: None,
            scoring_script: None,
        },
        deployment_name: "green".into(),
        strategy,
        traffic_steps: if strategy == Strategy::Canary {
            vec![10, 50, 100]
        } else {
            vec![100]
        },
        step_wait: Duration::from_secs(30),
        mirror_percent: 0,
        smoke: Some(SmokeTest {
            file: "req.json".into(),
            body: json!({"data": [[1, 2]]}),
            expect: Expectation {
                status: 200,
                value: Some(("/0".into(), json!(1))),
            },
        }),
        rollback_on_failure: true,
        delete_failed_deployment: true,
        keep_previous: 1,
        timeout_minutes: 0,
        data_collection: None,
        analysis: None,
    }
}

struct Run {
    result: Result<amlops_agent::Outcome, DeployError>,
    log: String,
}

async fn run(fake: &Fake, settings: &Settings, cancel: &CancellationToken) -> Run {
    let (out, buf) = Output::capture(false);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = PipelineContext {
        temp_directory: Some(dir.path().to_path_buf()),
        requested_for: Some("Ada".into()),
        build_reason: Some("Manual".into()),
        source_version: Some("abc123".into()),
        ..Default::default()
    };
    let timing = Timing {
        poll: Duration::from_millis(50),
    };
    let workspace = WorkspaceRef {
        subscription: "s".into(),
        resource_group: "g".into(),
        workspace: "w".into(),
    };
    let cleanup = fake.clone();
    let result = Deploy {
        out: &out,
        pipeline: &pipeline,
        cancel,
        settings,
        api: fake,
        cleanup: &cleanup,
        timing: &timing,
        workspace: &workspace,
        events: None,
    }
    .run()
    .await;
    let mut log = buf.text();
    // The summary file's content, for assertions.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        log.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    Run { result, log }
}

#[tokio::test(start_paused = true)]
async fn new_endpoint_and_first_deployment() {
    let fake = Fake::default();
    let r = run(&fake, &settings(Strategy::BlueGreen), &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(fake.traffic_puts(), vec![json!({}), json!({"green": 100})]);
    let s = fake.lock();
    let created = &s.endpoint_puts[0];
    assert_eq!(created["properties"]["authMode"], "Key");
    assert_eq!(created["location"], "westeurope");
    let (name, body) = &s.deployment_puts[0];
    assert_eq!(name, "green");
    assert_eq!(
        body["properties"]["model"],
        format!("{WS}/models/churn/versions/3")
    );
    assert_eq!(body["sku"]["capacity"], 2);
    assert_eq!(body["tags"]["amlops.deployedBy"], "Ada");
    assert_eq!(body["tags"]["amlops.commit"], "abc123");
    assert_eq!(
        body["tags"]["amlops.modelId"],
        format!("{WS}/models/churn/versions/3")
    );
    // Smoke test before traffic and at 100%, pinned to the new deployment with the key.
    assert_eq!(
        s.invokes,
        vec![
            ("green".to_string(), "secret-for-Key".to_string()),
            ("green".to_string(), "secret-for-Key".to_string())
        ]
    );
    assert!(s.deletes.is_empty());
    assert!(
        r.log
            .contains("##vso[task.setvariable variable=previousTraffic;isoutput=true;]{}"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains(r#"variable=traffic;isoutput=true;]{"green":100}"#),
        "{}",
        r.log
    );
    assert!(r.log.contains("| Live | none | green 100% |"), "{}", r.log);
    assert!(
        r.log.contains("| before live traffic | 200 | passed |"),
        "{}",
        r.log
    );
}

// `dataCollection` sets the deployment's dataCollector; a deployment YAML's own collector is kept when the
// input is off, and its model_inputs/model_outputs follow the input when it is on.
#[tokio::test(start_paused = true)]
async fn data_collection_sets_the_deployment_collector() {
    use amlops_deploy::collection::DataCollection;
    let fake = Fake::default();
    let mut s = settings(Strategy::BlueGreen);
    s.data_collection = Some(DataCollection::InputsOutputs { sampling_rate: 1.0 });
    let r = run(&fake, &s, &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    let body = fake.lock().deployment_puts[0].1.clone();
    assert_eq!(
        body["properties"]["dataCollector"],
        json!({"collections": {
            "model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1.0},
            "model_outputs": {"dataCollectionMode": "Enabled", "samplingRate": 1.0}},
            "rollingRate": "Hour"})
    );

    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("deployment.yml");
    std::fs::write(
        &yml,
        "name: green\nendpoint_name: churn-ep\nmodel: azureml:churn:3\nenvironment: azureml:env:1\n\
         instance_type: Standard_DS3_v2\ninstance_count: 1\ndata_collector:\n  collections:\n    \
         model_inputs:\n      enabled: 'true'\n    request:\n      enabled: 'true'\n",
    )
    .unwrap();
    let mut s = settings(Strategy::BlueGreen);
    s.deployment = DeploymentSource::File {
        path: yml,
        model: None,
    };
    let fake = Fake::default();
    let r = run(&fake, &s, &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    let kept = fake.lock().deployment_puts[0].1["properties"]["dataCollector"].clone();
    assert_eq!(
        kept["collections"]["model_inputs"]["dataCollectionMode"],
        "Enabled"
    );
    assert_eq!(kept["collections"]["request"]["dataCollectionMode"], "Enabled");
    assert!(kept["collections"].get("model_outputs").is_none(), "{kept}");

    s.data_collection = Some(DataCollection::InputsOutputs { sampling_rate: 0.2 });
    let fake = Fake::default();
    let r = run(&fake, &s, &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    let merged = fake.lock().deployment_puts[0].1["properties"]["dataCollector"].clone();
    assert_eq!(merged["collections"]["model_outputs"]["samplingRate"], 0.2);
    assert_eq!(merged["collections"]["model_inputs"]["samplingRate"], 0.2);
    assert!(
        merged["collections"]["model_inputs"]["dataId"]
            .as_str()
            .is_some_and(|d| d.ends_with("/data/churn-ep-green-model_inputs/versions/1")),
        "{merged}"
    );
    assert_eq!(merged["collections"]["request"]["dataCollectionMode"], "Enabled");
    assert_eq!(merged["rollingRate"], "Hour");
}

#[tokio::test(start_paused = true)]
async fn blue_green_beside_an_existing_deployment_and_clean_up() {
    let fake = Fake::default().with_endpoint(
        &[("Blue", 100), ("old", 0)],
        &[("blue", "2026-11-01T00:00:00Z"), ("old", "2026-10-01T00:00:00Z")],
    );
    let r = run(&fake, &settings(Strategy::BlueGreen), &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(fake.traffic_puts(), vec![json!({"green": 100})]);
    let s = fake.lock();
    // keepPreviousDeployments 1: blue kept, the older one deleted.
    assert_eq!(s.deletes, vec!["old".to_string()]);
    assert!(s.deployments.contains_key("blue"));
    assert!(
        r.log.contains(r#"previousTraffic;isoutput=true;]{"blue":100}"#),
        "{}",
        r.log
    );
    assert!(r.log.contains("| Live | blue 100% | green 100% |"), "{}", r.log);
}

#[tokio::test(start_paused = true)]
async fn canary_smoke_failure_at_50_restores_the_original_split() {
    let fake =
        Fake::default().with_endpoint(&[("blue", 70), ("red", 30)], &[("blue", "2026-11-01T00:00:00Z")]);
    // Calls: before traffic, at 10%, at 50% (fails).
    fake.lock().fail_invoke = Some(3);
    let r = run(&fake, &settings(Strategy::Canary), &CancellationToken::new()).await;
    let e = r.result.expect_err("the rollout must fail");
    assert!(matches!(e, DeployError::RolledBack { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("smoke test at 50% failed"), "{msg}");
    assert!(msg.contains("traffic restored to blue 70%, red 30%"), "{msg}");
    assert!(!is_canceled(&e));
    assert_eq!(
        fake.traffic_puts(),
        vec![
            json!({"blue": 63, "green": 10, "red": 27}),
            json!({"blue": 35, "green": 50, "red": 15}),
            json!({"blue": 70, "red": 30}),
        ]
    );
    let s = fake.lock();
    assert_eq!(s.deletes, vec!["green".to_string()]);
    assert!(
        r.log
            .contains(r#"variable=traffic;isoutput=true;]{"blue":70,"red":30}"#),
        "{}",
        r.log
    );
    assert!(r.log.contains("**Rolled back**"), "{}", r.log);
    assert!(r.log.contains("| at 50% | 500 | FAILED |"), "{}", r.log);
}

#[tokio::test(start_paused = true)]
async fn provisioning_failure_prints_both_logs_and_deletes_the_deployment() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    fake.lock().provision_fails = true;
    let r = run(&fake, &settings(Strategy::BlueGreen), &CancellationToken::new()).await;
    let e = r.result.expect_err("must fail");
    let msg = e.to_string();
    assert!(msg.contains("failed to provision"), "{msg}");
    assert!(msg.contains("deployment 'green' deleted"), "{msg}");
    let s = fake.lock();
    assert_eq!(s.logs, vec!["StorageInitializer", "InferenceServer"]);
    assert!(
        r.log
            .contains("InferenceServer of green: ImportError: no module named 'sklearn'"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("##[group]Logs of 'green' (StorageInitializer)"),
        "{}",
        r.log
    );
    assert!(s.endpoint_puts.is_empty(), "traffic never touched");
    assert_eq!(s.deletes, vec!["green".to_string()]);
    assert!(s.invokes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn cancellation_mid_rollout_restores_traffic() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    let cancel = CancellationToken::new();
    // Cancelled while the 10% step is being applied: the step wait sees it.
    fake.lock().cancel_at_put = Some((1, cancel.clone()));
    let r = run(&fake, &settings(Strategy::Canary), &cancel).await;
    let e = r.result.expect_err("must stop");
    assert!(is_canceled(&e), "{e}");
    assert_eq!(
        fake.traffic_puts(),
        vec![json!({"blue": 90, "green": 10}), json!({"blue": 100})]
    );
    assert_eq!(fake.lock().deletes, vec!["green".to_string()]);
    assert!(r.log.contains("**Canceled**"), "{}", r.log);
}

#[tokio::test(start_paused = true)]
async fn timeout_rolls_back() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    let mut s = settings(Strategy::Canary);
    s.step_wait = Duration::from_secs(3600);
    s.timeout_minutes = 1;
    let r = run(&fake, &s, &CancellationToken::new()).await;
    let msg = r.result.expect_err("must time out").to_string();
    assert!(
        msg.contains("within 1 minute(s) (input 'timeoutMinutes')"),
        "{msg}"
    );
    assert_eq!(
        fake.traffic_puts(),
        vec![json!({"blue": 90, "green": 10}), json!({"blue": 100})]
    );
}

#[tokio::test(start_paused = true)]
async fn without_rollback_the_traffic_stays_and_the_deployment_is_kept() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    fake.lock().fail_invoke = Some(2);
    let mut s = settings(Strategy::Canary);
    s.rollback_on_failure = false;
    let r = run(&fake, &s, &CancellationToken::new()).await;
    let msg = r.result.expect_err("must fail").to_string();
    assert!(msg.contains("traffic left at blue 90%, green 10%"), "{msg}");
    assert_eq!(fake.traffic_puts(), vec![json!({"blue": 90, "green": 10})]);
    assert!(fake.lock().deletes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn mirror_phase_then_live_traffic() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    let mut s = settings(Strategy::BlueGreen);
    s.mirror_percent = 20;
    let r = run(&fake, &s, &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    let st = fake.lock();
    let mirrors: Vec<Value> = st
        .endpoint_puts
        .iter()
        .map(|b| b["properties"]["mirrorTraffic"].clone())
        .collect();
    assert_eq!(mirrors, vec![json!({"green": 20}), json!({})]);
    drop(st);
    assert_eq!(
        fake.traffic_puts(),
        vec![json!({"blue": 100}), json!({"green": 100})]
    );
}

#[tokio::test(start_paused = true)]
async fn replace_tests_before_traffic_then_switches_once() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    let r = run(&fake, &settings(Strategy::Replace), &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(fake.traffic_puts(), vec![json!({"green": 100})]);
    assert_eq!(fake.lock().invokes.len(), 1);

    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    fake.lock().fail_invoke = Some(1);
    let r = run(&fake, &settings(Strategy::Replace), &CancellationToken::new()).await;
    let msg = r.result.expect_err("must fail").to_string();
    assert!(msg.contains("smoke test before live traffic failed"), "{msg}");
    assert!(fake.traffic_puts().is_empty(), "no traffic was moved");
    assert_eq!(fake.lock().deletes, vec!["green".to_string()]);
}

#[tokio::test(start_paused = true)]
async fn provisioning_state_is_shown_as_it_changes_and_read_only_fields_are_not_put_back() {
    let fake = Fake::default().with_endpoint(&[("blue", 100)], &[("blue", "2026-11-01T00:00:00Z")]);
    fake.lock().provision_delay = Some(Duration::from_secs(5));
    let r = run(&fake, &settings(Strategy::BlueGreen), &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    let creating: Vec<&str> = r
        .log
        .lines()
        .filter(|l| l.contains("Deployment 'green': provisioning state"))
        .collect();
    assert_eq!(
        creating,
        vec![
            "Deployment 'green': provisioning state Creating",
            "Deployment 'green': provisioning state Succeeded"
        ],
        "{}",
        r.log
    );
    let put = &fake.lock().endpoint_puts[0];
    assert!(put["properties"].get("scoringUri").is_none(), "{put}");
    assert!(put["properties"].get("provisioningState").is_none(), "{put}");
    assert_eq!(put["properties"]["authMode"], "Key");
}

#[tokio::test(start_paused = true)]
async fn an_existing_deployment_is_updated_in_place_and_never_deleted() {
    let fake = Fake::default().with_endpoint(
        &[("blue", 80), ("green", 20)],
        &[
            ("blue", "2026-11-01T00:00:00Z"),
            ("green", "2026-11-02T00:00:00Z"),
        ],
    );
    fake.lock().fail_invoke = Some(2);
    let r = run(&fake, &settings(Strategy::Canary), &CancellationToken::new()).await;
    assert!(r.result.is_err());
    assert!(
        r.log
            .contains("already exists on 'churn-ep': it is updated in place"),
        "{}",
        r.log
    );
    // 10% is below green's 20%: the first step is 50%.
    assert_eq!(
        fake.traffic_puts(),
        vec![json!({"blue": 50, "green": 50}), json!({"blue": 80, "green": 20})]
    );
    assert!(fake.lock().deletes.is_empty());
}
