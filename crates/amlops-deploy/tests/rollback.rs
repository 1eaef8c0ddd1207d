//! Rollback while an operation is still running: the pipeline cancels a canary while the endpoint's traffic update
//! is in flight, so the restore meets a busy endpoint. The fake behaves as the client does against Azure ML (a
//! write to a busy endpoint waits until its operation ends, then is accepted and runs for a while); time is paused,
//! so the grace window is measured exactly and nothing sleeps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::cancel::{AGENT_KILL_AFTER, AGENT_SIGINT_GRACE, CLEANUP_WINDOW};
use amlops_agent::{CancellationToken, Inputs, Output, PipelineContext, TaskEnv, is_canceled};
use amlops_azureml::models::{
    EndpointAuthMode, OnlineDeployment, OnlineDeploymentProperties, OnlineEndpoint, OnlineEndpointProperties,
    ProvisioningState,
};
use amlops_azureml::{AzureMlError, ErrorKind};
use amlops_deploy::DeployError;
use amlops_deploy::api::{DeployApi, Scored};
use amlops_deploy::flow::{Deploy, Timing, WorkspaceRef};
use amlops_deploy::inputs::Settings;
use amlops_deploy::restore::{RESTORE_TAG, Restored, restore_from_tag};
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::time::Instant;

const WS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w";

struct State {
    endpoint: OnlineEndpoint,
    deployments: BTreeMap<String, OnlineDeployment>,
    /// How long each endpoint update runs after it is accepted.
    update_takes: Duration,
    /// The endpoint has an operation in flight until then.
    busy_until: Option<Instant>,
    /// (accepted at, traffic) of every endpoint PUT.
    puts: Vec<(Instant, Value)>,
    /// Writes that met the busy endpoint and waited (as the client waits out a 409).
    waited_for_busy: usize,
    /// Cancel the task at the n-th endpoint PUT (from 1), right after it is accepted.
    cancel_at_put: Option<(usize, CancellationToken)>,
    deletes: Vec<String>,
}

/// The fake workspace; `cancel` is the token of the client it stands for (the task's, or none for the clean-up
/// client).
#[derive(Clone)]
struct Busy {
    state: Arc<Mutex<State>>,
    cancel: Option<CancellationToken>,
}

impl Busy {
    fn new(traffic: &[(&str, i64)], update_takes: Duration) -> Self {
        let mut props = OnlineEndpointProperties {
            auth_mode: Some(EndpointAuthMode::Key),
            scoring_uri: Some("https://ep.example/score".into()),
            provisioning_state: Some(ProvisioningState::Succeeded),
            ..Default::default()
        };
        props.traffic = Some(traffic.iter().map(|(k, v)| (k.to_string(), *v)).collect());
        let mut endpoint = OnlineEndpoint::new(props);
        endpoint.name = Some("churn-ep".into());
        endpoint.tags = Some([("team".to_string(), "ml".to_string())].into());
        let mut deployments = BTreeMap::new();
        for (name, _) in traffic {
            let mut d = OnlineDeployment::new(OnlineDeploymentProperties::default());
            d.name = Some(name.to_string());
            d.extra
                .insert("systemData".into(), json!({"createdAt": "2026-11-01T00:00:00Z"}));
            deployments.insert(name.to_string(), d);
        }
        Self {
            state: Arc::new(Mutex::new(State {
                endpoint,
                deployments,
                update_takes,
                busy_until: None,
                puts: Vec::new(),
                waited_for_busy: 0,
                cancel_at_put: None,
                deletes: Vec::new(),
            })),
            cancel: None,
        }
    }

    fn with_cancel(&self, cancel: &CancellationToken) -> Self {
        Self {
            state: self.state.clone(),
            cancel: Some(cancel.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    fn traffic(&self) -> Value {
        serde_json::to_value(&self.lock().endpoint.properties.traffic).unwrap()
    }

    fn tags(&self) -> BTreeMap<String, String> {
        self.lock().endpoint.tags.clone().unwrap_or_default()
    }

    /// Wait `d`, or fail as the client does when its token fires.
    async fn wait(&self, d: Duration) -> Result<(), AzureMlError> {
        match &self.cancel {
            Some(c) => tokio::select! {
                () = c.cancelled() => Err(AzureMlError::canceled("onlineEndpoints.createOrUpdate")),
                () = tokio::time::sleep(d) => Ok(()),
            },
            None => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }

    /// As the client's conflict policy: wait until the operation in flight has ended.
    async fn wait_while_busy(&self) -> Result<(), AzureMlError> {
        loop {
            let until = self.lock().busy_until;
            match until {
                Some(t) if t > Instant::now() => {
                    self.lock().waited_for_busy += 1;
                    self.wait(t - Instant::now()).await?;
                }
                _ => return Ok(()),
            }
        }
    }
}

#[async_trait]
impl DeployApi for Busy {
    fn workspace_id(&self) -> String {
        WS.into()
    }
    async fn location(&self) -> Result<String, AzureMlError> {
        Ok("westeurope".into())
    }
    async fn get_endpoint(&self, _name: &str) -> Result<Option<OnlineEndpoint>, AzureMlError> {
        Ok(Some(self.lock().endpoint.clone()))
    }
    async fn put_endpoint(&self, name: &str, body: &OnlineEndpoint) -> Result<OnlineEndpoint, AzureMlError> {
        self.put_endpoint_observed(name, body, &|| {}).await
    }
    async fn put_endpoint_observed(
        &self,
        _name: &str,
        body: &OnlineEndpoint,
        accepted: &(dyn Fn() + Send + Sync),
    ) -> Result<OnlineEndpoint, AzureMlError> {
        self.wait_while_busy().await?;
        let takes = {
            let mut s = self.lock();
            let now = Instant::now();
            s.endpoint.properties.traffic = body.properties.traffic.clone();
            s.endpoint.properties.mirror_traffic = body.properties.mirror_traffic.clone();
            s.endpoint.tags = body.tags.clone();
            s.busy_until = Some(now + s.update_takes);
            let traffic = serde_json::to_value(&body.properties.traffic).unwrap();
            s.puts.push((now, traffic));
            if let Some((at, token)) = &s.cancel_at_put
                && *at == s.puts.len()
            {
                token.cancel();
            }
            s.update_takes
        };
        accepted();
        // The operation runs on in Azure ML even when this wait is cancelled.
        self.wait(takes).await?;
        Ok(self.lock().endpoint.clone())
    }
    async fn set_endpoint_tags(
        &self,
        _name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<(), AzureMlError> {
        self.wait_while_busy().await?;
        self.lock().endpoint.tags = Some(tags.clone());
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
        let mut d = body.clone();
        d.name = Some(name.into());
        d.properties.provisioning_state = Some(ProvisioningState::Succeeded);
        self.lock().deployments.insert(name.into(), d.clone());
        Ok(d)
    }
    async fn delete_deployment(&self, _ep: &str, name: &str) -> Result<(), AzureMlError> {
        // A deployment of a busy endpoint is deleted once the endpoint's operation has ended.
        self.wait_while_busy().await?;
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
        Ok("key".into())
    }
    async fn invoke(
        &self,
        _uri: &str,
        _secret: &str,
        _deployment: &str,
        _body: &Value,
    ) -> Result<Scored, AzureMlError> {
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
        Err(AzureMlError::new(ErrorKind::InvalidInput, "upload", "not used"))
    }
    async fn send(&self, _r: &RestRequest) -> Result<(), AzureMlError> {
        Ok(())
    }
}

/// A canary 10,50,100 with a minute between steps, read from the inputs as the task reads them.
fn settings() -> Settings {
    let env = TaskEnv::from_map([
        ("INPUT_RESOURCEGROUP", "g"),
        ("INPUT_WORKSPACE", "w"),
        ("INPUT_ENDPOINTNAME", "churn-ep"),
        ("INPUT_MODEL", "azureml:churn:3"),
        ("INPUT_DEPLOYMENTNAME", "green"),
        ("INPUT_STRATEGY", "canary"),
        ("INPUT_TRAFFICSTEPS", "10,50,100"),
        ("INPUT_STEPWAITSECONDS", "60"),
    ]);
    Settings::read(&Inputs::new(&env)).unwrap()
}

struct Run {
    result: Result<amlops_agent::Outcome, DeployError>,
    log: String,
}

async fn run(fake: &Busy, cancel: &CancellationToken) -> Run {
    let (out, buf) = Output::capture(false);
    let dir = tempfile::tempdir().unwrap();
    let pipeline = PipelineContext {
        temp_directory: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let timing = Timing {
        poll: Duration::from_secs(10),
    };
    let workspace = WorkspaceRef {
        subscription: "sub-1".into(),
        resource_group: "g".into(),
        workspace: "w".into(),
    };
    let settings = settings();
    let api = fake.with_cancel(cancel);
    let cleanup = fake.clone();
    let result = Deploy {
        out: &out,
        pipeline: &pipeline,
        cancel,
        settings: &settings,
        api: &api,
        cleanup: &cleanup,
        timing: &timing,
        workspace: &workspace,
        events: None,
    }
    .run()
    .await;
    Run {
        result,
        log: buf.text(),
    }
}

/// Start the rollout, cancelled when the 10% step is accepted; returns the run and the cancellation instant.
async fn cancel_mid_canary(update_takes: Duration) -> (Busy, Run, Duration) {
    let fake = Busy::new(&[("blue", 100)], update_takes);
    let cancel = CancellationToken::new();
    fake.lock().cancel_at_put = Some((1, cancel.clone()));
    let watch = cancel.clone();
    let cancelled_at = tokio::spawn(async move {
        watch.cancelled().await;
        Instant::now()
    });
    let r = run(&fake, &cancel).await;
    let ended = Instant::now();
    let since_cancel = ended - cancelled_at.await.unwrap();
    (fake, r, since_cancel)
}

#[tokio::test(start_paused = true)]
async fn cancelled_while_the_update_runs_the_split_is_restored_inside_the_grace_window() {
    // The 10% update runs 3 s: the restore waits it out, is accepted 3 s after the cancellation and runs 3 s more.
    let (fake, r, since_cancel) = cancel_mid_canary(Duration::from_secs(3)).await;
    let e = r.result.expect_err("cancelled");
    assert!(is_canceled(&e), "{e}");
    assert_eq!(fake.traffic(), json!({"blue": 100}), "{}", r.log);
    let puts: Vec<Value> = fake.lock().puts.iter().map(|p| p.1.clone()).collect();
    assert_eq!(puts, vec![json!({"blue": 90, "green": 10}), json!({"blue": 100})]);
    let s = fake.lock();
    assert_eq!(
        s.puts[1].0 - s.puts[0].0,
        Duration::from_secs(3),
        "restored once the update ended"
    );
    assert_eq!(s.waited_for_busy, 1);
    assert_eq!(s.deletes, vec!["green".to_string()]);
    drop(s);
    assert_eq!(since_cancel, Duration::from_secs(6));
    assert!(since_cancel < AGENT_SIGINT_GRACE);
    assert!(
        !fake.tags().contains_key(RESTORE_TAG),
        "the note is cleared with the restore"
    );
    assert_eq!(fake.tags()["team"], "ml", "other tags are kept");
    assert!(r.log.contains("Traffic restored: blue 100%"), "{}", r.log);
    assert!(e.to_string().contains("traffic restored to blue 100%"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn when_the_window_cannot_hold_the_restore_the_log_gives_the_command_and_the_tag_stays() {
    // The 10% update runs 60 s: longer than the agent allows after SIGINT.
    let (fake, r, since_cancel) = cancel_mid_canary(Duration::from_secs(60)).await;
    let e = r.result.expect_err("cancelled");
    assert!(is_canceled(&e), "{e}");
    assert_eq!(since_cancel, CLEANUP_WINDOW, "{}", r.log);
    assert!(since_cancel < AGENT_KILL_AFTER);
    assert_eq!(
        fake.traffic(),
        json!({"blue": 90, "green": 10}),
        "nothing more was written"
    );
    assert_eq!(
        fake.tags()[RESTORE_TAG],
        "blue=100",
        "the endpoint still names the split to restore"
    );
    let command = "az ml online-endpoint update --name churn-ep -g g -w w --traffic \"blue=100 green=0\" --subscription sub-1";
    let error_line = r
        .log
        .lines()
        .find(|l| l.starts_with("##[error]The traffic of 'churn-ep' could not be restored"))
        .unwrap_or_else(|| panic!("no error line:\n{}", r.log));
    assert!(error_line.contains(command), "{error_line}");
    assert!(error_line.contains("blue 100%"), "{error_line}");
    assert!(error_line.contains("action: restoreTraffic"), "{error_line}");
    assert!(e.to_string().contains(command), "{e}");
    assert!(
        fake.lock().deletes.is_empty(),
        "the deployment still serves traffic: kept"
    );

    // A later `action: restoreTraffic` step restores the split from the tag once the endpoint is free.
    let restored = restore_from_tag(&fake, "churn-ep").await.unwrap();
    assert_eq!(
        restored,
        Restored::Restored([("blue".to_string(), 100)].into(), Default::default())
    );
    assert_eq!(fake.traffic(), json!({"blue": 100}));
    assert!(!fake.tags().contains_key(RESTORE_TAG));
    assert_eq!(
        restore_from_tag(&fake, "churn-ep").await.unwrap(),
        Restored::NothingPending
    );
}

#[tokio::test(start_paused = true)]
async fn a_restore_accepted_before_the_window_ends_is_reported_as_accepted() {
    // Busy 5 s more, then the restore is accepted and would take 5 s: it finishes after the window.
    let (fake, r, since_cancel) = cancel_mid_canary(Duration::from_secs(5)).await;
    let e = r.result.expect_err("cancelled");
    assert!(is_canceled(&e), "{e}");
    assert_eq!(since_cancel, CLEANUP_WINDOW);
    assert_eq!(fake.traffic(), json!({"blue": 100}));
    assert!(
        r.log.contains("was accepted; Azure ML is still applying it"),
        "{}",
        r.log
    );
    assert!(
        e.to_string().contains("traffic restored to blue 100% (accepted"),
        "{e}"
    );
    // The deletion that follows shares the window: cut off, with the command to finish it.
    assert!(fake.lock().deletes.is_empty());
    assert!(
        e.to_string()
            .contains("az ml online-deployment delete --name green --endpoint-name churn-ep -g g -w w --yes"),
        "{e}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_split_is_noted_before_traffic_changes_and_cleared_after_success() {
    let fake = Busy::new(&[("blue", 100)], Duration::from_secs(1));
    let r = run(&fake, &CancellationToken::new()).await;
    assert!(r.result.is_ok(), "{:?}\n{}", r.result.err(), r.log);
    assert_eq!(fake.traffic(), json!({"green": 100}));
    assert!(!fake.tags().contains_key(RESTORE_TAG), "{:?}", fake.tags());
    let noted = r
        .log
        .find("Split to restore noted on the endpoint: amlops.restoreTraffic='blue=100'")
        .expect("noted");
    let first_step = r.log.find("'green' takes 10% of live traffic").unwrap();
    assert!(noted < first_step, "{}", r.log);
}
