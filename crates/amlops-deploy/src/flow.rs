//! The rollout: endpoint, deployment at 0%, smoke tests, mirror phase, traffic steps, rollback, clean-up.
//!
//! This module holds the task's run, the smoke tests and the traffic steps; `provision` creates the endpoint and
//! the deployment, `rollback` undoes a failed rollout, deletes old deployments and writes the build summary.

mod provision;
mod rollback;

use std::time::Duration;

use amlops_agent::{CancellationToken, Outcome, Output, PipelineContext, is_canceled};
use amlops_azureml::AzureMlError;
use amlops_azureml::models::{EndpointAuthMode, OnlineEndpoint};
use amlops_events::{AssetKind, AssetRef, Emitter, Event};
use time::OffsetDateTime;

use crate::DeployError;
use crate::analysis::{StepAnalysis, StepRun};
use crate::api::DeployApi;
use crate::inputs::Settings;
use crate::report::{Summary, governance_tags};
use crate::smoke::{SmokeResult, check};
use crate::traffic::{Split, Step, StepKind, Strategy, describe, normalize, plan, to_json, to_rest};

/// The flow's timing.
#[derive(Debug, Clone)]
pub struct Timing {
    /// How often the provisioning state is read while an endpoint or deployment is being created.
    pub poll: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(10),
        }
    }
}

/// The workspace the task works on.
#[derive(Debug, Clone)]
pub struct WorkspaceRef {
    /// Subscription.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Workspace.
    pub workspace: String,
}

/// One run of the task.
pub struct Deploy<'a> {
    /// The writer.
    pub out: &'a Output,
    /// The pipeline run.
    pub pipeline: &'a PipelineContext,
    /// The task's cancellation.
    pub cancel: &'a CancellationToken,
    /// The inputs.
    pub settings: &'a Settings,
    /// Operations cancelled with the task.
    pub api: &'a dyn DeployApi,
    /// Operations for the rollback (not cancelled: they must run after a cancellation).
    pub cleanup: &'a dyn DeployApi,
    /// Timing.
    pub timing: &'a Timing,
    /// The workspace.
    pub workspace: &'a WorkspaceRef,
    /// Lifecycle events, if enabled.
    pub events: Option<&'a Emitter>,
}

/// Why a rollout stopped.
struct Failure {
    reason: String,
    canceled: bool,
    source: Option<Box<AzureMlError>>,
}

impl Failure {
    fn api(context: &str, e: AzureMlError) -> Self {
        Self {
            canceled: is_canceled(&e),
            reason: format!("{context}: {e}"),
            source: Some(Box::new(e)),
        }
    }

    fn plain(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            canceled: false,
            source: None,
        }
    }

    fn canceled() -> Self {
        Self {
            reason: "the pipeline cancelled the task".into(),
            canceled: true,
            source: None,
        }
    }
}

/// What the rollout did so far.
#[derive(Default)]
struct Progress {
    smoke: Vec<SmokeResult>,
    traffic: Split,
    mirror: Split,
    touched: bool,
    /// The endpoint carries the split to restore ([`crate::restore::RESTORE_TAG`]).
    noted: bool,
    /// The analysed steps (canary analysis), the last one failed when the analysis stopped the rollout.
    analysis: Vec<StepAnalysis>,
}

fn api_err(context: impl Into<String>) -> impl FnOnce(AzureMlError) -> DeployError {
    let context = context.into();
    move |source| DeployError::Api {
        context,
        source: Box::new(source),
    }
}

impl Deploy<'_> {
    fn endpoint_name(&self) -> &str {
        self.settings.endpoint.name()
    }

    fn dep_name(&self) -> &str {
        &self.settings.deployment_name
    }

    /// Run the task.
    pub async fn run(&self) -> Result<Outcome, DeployError> {
        let ep = self.endpoint_name().to_string();
        let dep = self.dep_name().to_string();
        self.out.set_output("endpointName", &ep);
        self.out.set_output("deploymentName", &dep);
        self.out.section(&format!(
            "Deploying '{dep}' to endpoint '{ep}' ({} strategy)",
            self.settings.strategy.as_str()
        ));
        let location = self
            .api
            .location()
            .await
            .map_err(api_err("reading the workspace"))?;
        let endpoint = self.ensure_endpoint(&ep, &location).await?;
        let before = normalize(&endpoint.properties.traffic.clone().unwrap_or_default());
        let before_mirror = normalize(&endpoint.properties.mirror_traffic.clone().unwrap_or_default());
        let scoring_uri = endpoint.properties.scoring_uri.clone().unwrap_or_default();
        let auth = endpoint
            .properties
            .auth_mode
            .clone()
            .unwrap_or(EndpointAuthMode::Key);
        self.out.set_output("previousTraffic", &to_json(&before));
        self.out.set_output("scoringUri", &scoring_uri);
        self.out.line(&format!(
            "Current traffic: {}; mirror: {}",
            describe(&before),
            describe(&before_mirror)
        ));

        let existed = self
            .api
            .get_deployment(&ep, &dep)
            .await
            .map_err(api_err(format!("reading the deployment '{dep}'")))?
            .is_some();
        if existed {
            self.out.warning(&format!(
                "The deployment '{dep}' already exists on '{ep}': it is updated in place. A rollback restores the \
                 traffic split but not its previous model or code, and it is not deleted on failure"
            ));
        }
        let model_id = self
            .settings
            .deployment
            .model()
            .map(|m| m.asset_id(&self.api.workspace_id()));
        let governance = governance_tags(
            self.pipeline,
            model_id.as_deref(),
            self.settings.strategy.as_str(),
            OffsetDateTime::now_utc(),
        );
        let mut summary = Summary {
            endpoint: ep.clone(),
            deployment: dep.clone(),
            strategy: self.settings.strategy.as_str().into(),
            before: before.clone(),
            before_mirror: before_mirror.clone(),
            after: before.clone(),
            after_mirror: before_mirror.clone(),
            governance: governance.clone(),
            scoring_uri: Some(scoring_uri.clone()).filter(|s| !s.is_empty()),
            ..Summary::default()
        };

        let mut progress = Progress {
            traffic: before.clone(),
            mirror: before_mirror.clone(),
            ..Progress::default()
        };
        let work = async {
            let body = self.deployment_body(&location, &governance).await?;
            self.provision(&ep, &dep, &body, existed).await?;
            let steps = plan(
                self.settings.strategy,
                &before,
                &before_mirror,
                &dep,
                &self.settings.traffic_steps,
                self.settings.mirror_percent,
            );
            self.rollout(&ep, &dep, &scoring_uri, &auth, &steps, &mut progress)
                .await
                .map_err(DeployOrFailure::Failure)
        };
        let result = match self.settings.timeout_minutes {
            0 => work.await,
            m => match tokio::time::timeout(Duration::from_secs(u64::from(m) * 60), work).await {
                Ok(r) => r,
                Err(_) => Err(DeployOrFailure::Failure(Failure::plain(format!(
                    "the rollout did not finish within {m} minute(s) (input 'timeoutMinutes')"
                )))),
            },
        };
        summary.smoke = progress.smoke.clone();
        if self.settings.analysis.is_some() {
            summary.analysis = Some(progress.analysis.clone());
            let failed = progress.analysis.iter().find(|a| !a.passed);
            self.out
                .set_output("analysisPassed", if failed.is_none() { "true" } else { "false" });
            self.out.set_output(
                "failedAnalysis",
                &failed.map(StepAnalysis::failed_analysis).unwrap_or_default(),
            );
        }
        let failure = match result {
            Ok(()) => None,
            Err(DeployOrFailure::Error(e)) if !is_rollback_worthy(&e) => {
                summary.result = "Failed".into();
                summary.reason = Some(e.to_string());
                self.out.set_output("traffic", &to_json(&before));
                self.write_summary(&summary);
                return Err(e);
            }
            Err(DeployOrFailure::Error(e)) => Some(Failure {
                canceled: amlops_agent::is_canceled(&e),
                reason: e.to_string(),
                source: None,
            }),
            Err(DeployOrFailure::Failure(f)) => Some(f),
        };
        if let Some(f) = failure {
            let f = if self.cancel.is_cancelled() && !f.canceled {
                Failure { canceled: true, ..f }
            } else {
                f
            };
            return Err(self
                .roll_back(f, existed, &before, &before_mirror, progress, &mut summary)
                .await);
        }

        // Success.
        summary.after = progress.traffic.clone();
        summary.after_mirror = progress.mirror.clone();
        self.out.set_output("traffic", &to_json(&progress.traffic));
        summary.deleted = self
            .clean_up(&ep, &dep, &progress.traffic, &progress.mirror)
            .await;
        if progress.noted {
            self.clear_restore_note(self.api, &ep).await;
        }
        summary.result = "Succeeded".into();
        self.write_summary(&summary);
        if let Some(events) = self.events {
            let model = match self.settings.deployment.model() {
                Some(m) => {
                    let r = AssetRef::model(m.name(), m.version());
                    match &model_id {
                        Some(id) => r.with_id(id.clone()),
                        None => r,
                    }
                }
                None => AssetRef::new(AssetKind::Model, "(from the deployment YAML)"),
            };
            events
                .emit(
                    Event::model_deployed(self.deployment_ref(), model)
                        .detail("endpoint", ep.clone())
                        .detail("previousTraffic", to_json(&before))
                        .detail("traffic", to_json(&progress.traffic)),
                )
                .await;
        }
        Ok(Outcome::succeeded(format!(
            "'{dep}' serves endpoint '{ep}': {}",
            describe(&progress.traffic)
        )))
    }

    fn deployment_ref(&self) -> AssetRef {
        AssetRef::new(AssetKind::OnlineDeployment, self.dep_name()).with_id(format!(
            "{}/onlineEndpoints/{}/deployments/{}",
            self.api.workspace_id(),
            self.endpoint_name(),
            self.dep_name()
        ))
    }

    /// A step's wait: plain, or analysed when `analysis` is set (a failing analysis stops the rollout).
    async fn wait_step(
        &self,
        stage: &str,
        ep: &str,
        dep: &str,
        step: &Step,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let Some(settings) = &self.settings.analysis else {
            return self.wait(self.settings.step_wait).await;
        };
        // The baseline: the deployments that held the live traffic before the rollout (they keep a share of it
        // during every step before 100%).
        let baseline: Vec<String> = step
            .traffic
            .iter()
            .filter(|(name, pct)| **pct > 0 && !name.eq_ignore_ascii_case(dep))
            .map(|(name, _)| name.clone())
            .collect();
        let run = StepRun {
            api: self.api,
            out: self.out,
            cancel: self.cancel,
            settings,
            endpoint: ep,
            canary: dep,
            baseline: &baseline,
            wait: self.settings.step_wait,
        };
        let analysed = run
            .run(stage, &step.traffic, &step.mirror)
            .await
            .map_err(|()| Failure::canceled())?;
        let passed = analysed.passed;
        let reason = analysed.failure_reason();
        progress.analysis.push(analysed);
        if passed {
            Ok(())
        } else {
            Err(Failure::plain(reason))
        }
    }

    async fn wait(&self, d: Duration) -> Result<(), Failure> {
        if d.is_zero() {
            return if self.cancel.is_cancelled() {
                Err(Failure::canceled())
            } else {
                Ok(())
            };
        }
        self.out
            .line(&format!("Waiting {} s (input 'stepWaitSeconds')", d.as_secs()));
        tokio::select! {
            () = self.cancel.cancelled() => Err(Failure::canceled()),
            () = tokio::time::sleep(d) => Ok(()),
        }
    }

    async fn smoke(
        &self,
        stage: &str,
        ep: &str,
        dep: &str,
        uri: &str,
        secret: &str,
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let Some(test) = &self.settings.smoke else {
            return Ok(());
        };
        let scored = self
            .api
            .invoke(uri, secret, dep, &test.body)
            .await
            .map_err(|e| Failure::api(&format!("smoke test {stage}: calling '{ep}'"), e))?;
        let r = check(stage, &test.expect, scored.status, &scored.body);
        self.out.line(&format!(
            "Smoke test {stage}: {} ({})",
            if r.passed { "passed" } else { "FAILED" },
            r.detail
        ));
        let passed = r.passed;
        let detail = r.detail.clone();
        progress.smoke.push(r);
        if passed {
            Ok(())
        } else {
            Err(Failure::plain(format!("the smoke test {stage} failed: {detail}")))
        }
    }

    async fn apply(
        &self,
        api: &dyn DeployApi,
        ep: &str,
        traffic: &Split,
        mirror: &Split,
    ) -> Result<(), AzureMlError> {
        let mut endpoint = api.get_endpoint(ep).await?.ok_or_else(|| {
            AzureMlError::invalid_input("onlineEndpoints.get", format!("the endpoint '{ep}' vanished"))
        })?;
        endpoint.properties.traffic = Some(to_rest(traffic));
        endpoint.properties.mirror_traffic = Some(to_rest(mirror));
        api.put_endpoint(ep, &for_put(endpoint)).await?;
        Ok(())
    }

    async fn rollout(
        &self,
        ep: &str,
        dep: &str,
        uri: &str,
        auth: &EndpointAuthMode,
        steps: &[Step],
        progress: &mut Progress,
    ) -> Result<(), Failure> {
        let secret = match &self.settings.smoke {
            Some(_) => self
                .api
                .scoring_secret(ep, auth)
                .await
                .map_err(|e| Failure::api(&format!("getting the {auth} credential of '{ep}'"), e))?,
            None => String::new(),
        };
        self.smoke("before live traffic", ep, dep, uri, &secret, progress)
            .await?;
        if !steps.is_empty() {
            // Before any traffic change: the endpoint notes the split to restore (a later step can restore it
            // from there even if this process is killed).
            self.note_restore_split(ep, &progress.traffic, &progress.mirror)
                .await
                .map_err(|e| Failure::api(&format!("noting the split to restore on '{ep}'"), e))?;
            progress.noted = true;
        }
        for step in steps {
            if self.cancel.is_cancelled() {
                return Err(Failure::canceled());
            }
            match step.kind {
                StepKind::Mirror(p) => self
                    .out
                    .section(&format!("Mirror phase: {p}% of live traffic copied to '{dep}'")),
                StepKind::Live(p) => self.out.section(&format!("'{dep}' takes {p}% of live traffic")),
            }
            progress.touched = true;
            self.apply(self.api, ep, &step.traffic, &step.mirror)
                .await
                .map_err(|e| Failure::api(&format!("updating the traffic of '{ep}'"), e))?;
            progress.traffic = step.traffic.clone();
            progress.mirror = step.mirror.clone();
            self.out.line(&format!(
                "Traffic: {}; mirror: {}",
                describe(&step.traffic),
                describe(&step.mirror)
            ));
            match step.kind {
                StepKind::Mirror(p) => {
                    self.wait_step(&format!("mirror {p}%"), ep, dep, step, progress)
                        .await?
                }
                StepKind::Live(p) => {
                    // `replace` switches once and does not check again; the others verify each live step.
                    if self.settings.strategy != Strategy::Replace {
                        self.smoke(&format!("at {p}%"), ep, dep, uri, &secret, progress)
                            .await?;
                    }
                    if p < 100 {
                        self.wait_step(&format!("{p}%"), ep, dep, step, progress).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// The endpoint as it is PUT back: read-only fields left out (the SDK sends only writable ones).
pub fn for_put(mut endpoint: OnlineEndpoint) -> OnlineEndpoint {
    endpoint.id = None;
    endpoint.name = None;
    endpoint.resource_type = None;
    endpoint.extra.remove("systemData");
    let p = &mut endpoint.properties;
    p.provisioning_state = None;
    p.scoring_uri = None;
    p.swagger_uri = None;
    endpoint
}

/// An error that ends the task before any traffic was touched, or a rollout failure.
enum DeployOrFailure {
    Error(DeployError),
    Failure(Failure),
}

impl From<DeployError> for DeployOrFailure {
    fn from(e: DeployError) -> Self {
        DeployOrFailure::Error(e)
    }
}

/// Errors after which the new deployment is removed (it may exist): provisioning failures and API errors while
/// preparing it. Input and YAML errors leave nothing behind.
fn is_rollback_worthy(e: &DeployError) -> bool {
    matches!(
        e,
        DeployError::ProvisioningFailed { .. } | DeployError::Api { .. }
    )
}
