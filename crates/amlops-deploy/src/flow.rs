//! The rollout: endpoint, deployment at 0%, smoke tests, mirror phase, traffic steps, rollback, clean-up.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use amlops_agent::{Canceled, CancellationToken, Outcome, Output, PipelineContext, is_canceled};
use amlops_azureml::AzureMlError;
use amlops_azureml::models::{EndpointAuthMode, OnlineDeployment, OnlineEndpoint};
use amlops_events::{AssetKind, AssetRef, Emitter, Event};
use amlops_spec::{AssetType, Kind, PlanOptions, Resolver, Scope, Upload, UploadOutcome};
use serde_json::json;
use time::OffsetDateTime;

use crate::DeployError;
use crate::analysis::{StepAnalysis, StepRun};
use crate::api::{DeployApi, LOG_CONTAINERS};
use crate::inputs::{DeploymentSource, EndpointSource, Settings};
use crate::report::{Existing, Summary, cleanup_selection, governance_tags, summary_markdown};
use crate::smoke::{SmokeResult, check};
use crate::traffic::{Split, Step, StepKind, Strategy, describe, normalize, plan, restore, to_json, to_rest};

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

struct Precomputed(HashMap<usize, UploadOutcome>);

impl Resolver for Precomputed {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        self.0
            .get(&upload.index)
            .cloned()
            .ok_or_else(|| format!("'{}' was not uploaded", upload.local_path.display()))
    }

    fn latest_version(&mut self, asset: AssetType, name: &str) -> Result<String, String> {
        Err(format!(
            "'{name}@latest' ({}) is not supported by this task: pin a version",
            asset.collection()
        ))
    }
}

fn api_err(context: impl Into<String>) -> impl FnOnce(AzureMlError) -> DeployError {
    let context = context.into();
    move |source| DeployError::Api {
        context,
        source: Box::new(source),
    }
}

fn deployment_created_at(d: &OnlineDeployment) -> Option<OffsetDateTime> {
    d.extra
        .get("systemData")
        .and_then(|s| s["createdAt"].as_str())
        .and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

impl Deploy<'_> {
    fn endpoint_name(&self) -> &str {
        self.settings.endpoint.name()
    }

    fn dep_name(&self) -> &str {
        &self.settings.deployment_name
    }

    fn scope(&self, location: &str) -> Scope {
        Scope {
            subscription: self.workspace.subscription.clone(),
            resource_group: self.workspace.resource_group.clone(),
            workspace: self.workspace.workspace.clone(),
            location: location.to_string(),
        }
    }

    /// Run `op` while reading the provisioning state every [`Timing::poll`] and printing each change.
    async fn watched<T, P, PF>(&self, label: &str, op: impl Future<Output = T>, probe: P) -> T
    where
        P: Fn() -> PF,
        PF: Future<Output = Option<String>>,
    {
        tokio::pin!(op);
        let mut last: Option<String> = None;
        loop {
            tokio::select! {
                r = &mut op => return r,
                () = tokio::time::sleep(self.timing.poll) => {
                    if let Some(state) = probe().await
                        && last.as_deref() != Some(state.as_str())
                    {
                        self.out.line(&format!("{label}: provisioning state {state}"));
                        last = Some(state);
                    }
                }
            }
        }
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

    async fn ensure_endpoint(&self, ep: &str, location: &str) -> Result<OnlineEndpoint, DeployError> {
        if let Some(found) = self
            .api
            .get_endpoint(ep)
            .await
            .map_err(api_err(format!("reading the endpoint '{ep}'")))?
        {
            let state = found
                .properties
                .provisioning_state
                .as_ref()
                .map_or("unknown".to_string(), |s| s.to_string());
            self.out
                .line(&format!("Endpoint '{ep}' exists (provisioning state {state})"));
            if matches!(self.settings.endpoint, EndpointSource::File { .. }) {
                self.out.line(
                    "The endpoint YAML is used only to create a missing endpoint; the existing one is kept",
                );
            }
            return Ok(found);
        }
        self.out
            .line(&format!("Endpoint '{ep}' does not exist: creating it"));
        let (text, path) = match &self.settings.endpoint {
            EndpointSource::File { path, .. } => (None, path.clone()),
            EndpointSource::Named { name, auth_mode } => (
                Some(format!("name: {name}\nauth_mode: {auth_mode}\n")),
                std::path::PathBuf::from("endpointName.yml"),
            ),
        };
        let options = PlanOptions {
            kind: Some(Kind::OnlineEndpoint),
            scope: self.scope(location),
            ..PlanOptions::default()
        };
        let input = if text.is_some() {
            "endpointName"
        } else {
            "endpointFile"
        };
        let spec_err = |e| DeployError::Spec {
            input: input.into(),
            source: Box::new(e),
        };
        let planned = match &text {
            Some(t) => amlops_spec::plan_str(t, &path, options),
            None => amlops_spec::plan_file(&path, options),
        }
        .map_err(spec_err)?;
        let requests = planned
            .render(&mut Precomputed(HashMap::new()))
            .map_err(spec_err)?;
        let mut body = requests.last().map(|r| r.body.clone()).unwrap_or_default();
        // A new endpoint has no deployment yet: the YAML's traffic would be refused.
        body["properties"]["traffic"] = json!({});
        body["properties"]["mirrorTraffic"] = json!({});
        let body: OnlineEndpoint = serde_json::from_value(body)
            .map_err(|e| DeployError::Setup(format!("the endpoint request cannot be built: {e}")))?;
        let created = self
            .watched(
                &format!("Endpoint '{ep}'"),
                self.api.put_endpoint(ep, &body),
                || async {
                    self.api
                        .get_endpoint(ep)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|e| e.properties.provisioning_state.map(|s| s.to_string()))
                },
            )
            .await
            .map_err(api_err(format!("creating the endpoint '{ep}'")))?;
        self.out.line(&format!(
            "Endpoint '{ep}': provisioning state {}",
            created
                .properties
                .provisioning_state
                .as_ref()
                .map_or("Succeeded".to_string(), |s| s.to_string())
        ));
        Ok(created)
    }

    async fn deployment_body(
        &self,
        location: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<OnlineDeployment, DeployOrFailure> {
        let body = match &self.settings.deployment {
            DeploymentSource::Model {
                model,
                instance_type,
                instance_count,
                environment,
                code_path,
                scoring_script,
            } => {
                let ws = self.api.workspace_id();
                let mut props = json!({
                    "endpointComputeType": "Managed",
                    "model": model.asset_id(&ws),
                    "instanceType": instance_type,
                });
                if let Some(env) = environment {
                    props["environmentId"] = json!(environment_id(env, &ws));
                }
                if let (Some(folder), Some(script)) = (code_path, scoring_script) {
                    self.out
                        .line(&format!("Uploading the scoring code {}", folder.display()));
                    let code_id = match self.api.upload_code(folder, &[]).await.map_err(api_err(format!(
                        "uploading the code folder '{}'",
                        folder.display()
                    )))? {
                        UploadOutcome::Code { name, version, .. } => {
                            format!("{ws}/codes/{name}/versions/{version}")
                        }
                        UploadOutcome::Blob { .. } => {
                            return Err(
                                DeployError::Setup("the code upload gave no code asset".into()).into()
                            );
                        }
                    };
                    props["codeConfiguration"] = json!({"codeId": code_id, "scoringScript": script});
                }
                json!({
                    "location": location,
                    "kind": "Managed",
                    "sku": {"name": "Default", "capacity": instance_count},
                    "tags": tags,
                    "properties": props,
                })
            }
            DeploymentSource::File { path, .. } => {
                let spec_err = |e| DeployError::Spec {
                    input: "deploymentFile".into(),
                    source: Box::new(e),
                };
                let planned = amlops_spec::plan_file(
                    path,
                    PlanOptions {
                        kind: Some(Kind::OnlineDeployment),
                        scope: self.scope(location),
                        tags: tags.clone(),
                        name: Some(self.dep_name().to_string()),
                        endpoint_name: Some(self.endpoint_name().to_string()),
                        ..PlanOptions::default()
                    },
                )
                .map_err(spec_err)?;
                let mut done = HashMap::new();
                for upload in planned.uploads() {
                    if !upload.role.is_code() {
                        return Err(DeployError::LocalPath {
                            file: path.clone(),
                            path: upload.rel_path.clone(),
                        }
                        .into());
                    }
                    self.out.line(&format!(
                        "Uploading the code folder {}",
                        upload.local_path.display()
                    ));
                    let outcome = self
                        .api
                        .upload_code(&upload.local_path, &upload.additional_includes)
                        .await
                        .map_err(api_err(format!(
                            "uploading the code folder '{}'",
                            upload.local_path.display()
                        )))?;
                    done.insert(upload.index, outcome);
                }
                let requests = planned.render(&mut Precomputed(done)).map_err(spec_err)?;
                let (main, deps) = requests
                    .split_last()
                    .ok_or_else(|| DeployError::Setup("the deployment YAML gave no request".into()))?;
                for r in deps {
                    self.api
                        .send(r)
                        .await
                        .map_err(api_err(format!("creating {}", r.path)))?;
                }
                main.body.clone()
            }
        };
        let mut body = body;
        if let Some(collection) = &self.settings.data_collection {
            collection.apply(&mut body);
        }
        serde_json::from_value(body)
            .map_err(|e| DeployError::Setup(format!("the deployment request cannot be built: {e}")).into())
    }

    /// Create or update the deployment (traffic untouched: 0% for a new one). On failure, print the logs of both
    /// containers and delete it if asked.
    async fn provision(
        &self,
        ep: &str,
        dep: &str,
        body: &OnlineDeployment,
        existed: bool,
    ) -> Result<(), DeployOrFailure> {
        self.out.section(&format!(
            "{} deployment '{dep}' (no live traffic yet)",
            if existed { "Updating" } else { "Creating" }
        ));
        let result = self
            .watched(
                &format!("Deployment '{dep}'"),
                self.api.put_deployment(ep, dep, body),
                || async {
                    self.api
                        .get_deployment(ep, dep)
                        .await
                        .ok()
                        .flatten()
                        .and_then(|d| d.properties.provisioning_state.map(|s| s.to_string()))
                },
            )
            .await;
        match result {
            Ok(d) => {
                let state = d
                    .properties
                    .provisioning_state
                    .as_ref()
                    .map_or("Succeeded".to_string(), |s| s.to_string());
                self.out
                    .line(&format!("Deployment '{dep}': provisioning state {state}"));
                Ok(())
            }
            Err(e) if is_canceled(&e) => Err(DeployOrFailure::Failure(Failure::api(
                &format!("creating the deployment '{dep}'"),
                e,
            ))),
            Err(e) => {
                self.out
                    .error(&format!("Deployment '{dep}' failed to provision: {e}"));
                self.print_logs(ep, dep).await;
                Err(DeployOrFailure::Error(DeployError::ProvisioningFailed {
                    endpoint: ep.to_string(),
                    deployment: dep.to_string(),
                    source: Box::new(e),
                }))
            }
        }
    }

    async fn print_logs(&self, ep: &str, dep: &str) {
        for container in LOG_CONTAINERS {
            self.out.group(&format!("Logs of '{dep}' ({container})"));
            match self.cleanup.logs(ep, dep, container).await {
                Ok(text) if text.trim().is_empty() => self.out.line("(empty)"),
                Ok(text) => {
                    for line in text.lines() {
                        self.out.line(line);
                    }
                }
                Err(e) => self
                    .out
                    .warning(&format!("Cannot read the {container} logs: {e}")),
            }
            self.out.end_group();
        }
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

    async fn roll_back(
        &self,
        f: Failure,
        existed: bool,
        before: &Split,
        before_mirror: &Split,
        progress: Progress,
        summary: &mut Summary,
    ) -> DeployError {
        let ep = self.endpoint_name();
        let dep = self.dep_name();
        self.out
            .section(&format!("Rollout of '{dep}' stopped: {}", f.reason));
        let mut notes = Vec::new();
        // One clean-up window for the restore and the deletion ([`crate::restore::RollbackWindow`]).
        let window = crate::restore::RollbackWindow::default();
        let started = tokio::time::Instant::now();
        let (traffic, mirror) = restore(before, before_mirror);
        let mut restored = !progress.touched;
        if progress.touched {
            if self.settings.rollback_on_failure {
                // The step in flight may have been accepted: the restore command also zeroes the new deployment.
                let mut live = progress.traffic.clone();
                live.entry(dep.to_ascii_lowercase()).or_insert(0);
                let mut live_mirror = progress.mirror.clone();
                live_mirror.entry(dep.to_ascii_lowercase()).or_insert(0);
                match self
                    .restore_within_window(started, &traffic, &mirror, &live, &live_mirror)
                    .await
                {
                    Ok(outcome) => {
                        restored = true;
                        let how = match outcome {
                            crate::restore::RestoreOutcome::Done => "",
                            crate::restore::RestoreOutcome::Accepted => {
                                " (accepted; Azure ML is completing it)"
                            }
                        };
                        notes.push(format!("traffic restored to {}{how}", describe(&traffic)));
                        self.out.line(&format!(
                            "Traffic restored{how}: {}; mirror: {}",
                            describe(&traffic),
                            describe(&mirror)
                        ));
                    }
                    Err(note) => notes.push(note),
                }
            } else {
                notes.push(format!(
                    "traffic left at {} (input 'rollbackOnFailure' is false)",
                    describe(&progress.traffic)
                ));
            }
        }
        if !progress.touched && progress.noted {
            // Stopped between noting the split and changing traffic: nothing to restore, only the note to clear.
            if window
                .run_from(started, self.cancel, self.clear_restore_note(self.cleanup, ep))
                .await
                .is_none()
            {
                self.out.warning(&format!(
                    "The tag {} could not be removed from '{ep}' in time; its split is the current one",
                    crate::restore::RESTORE_TAG
                ));
            }
        }
        let (after, after_mirror) = if restored {
            (traffic.clone(), mirror.clone())
        } else {
            (progress.traffic.clone(), progress.mirror.clone())
        };
        let created = !existed
            && matches!(
                window
                    .run_from(started, self.cancel, self.cleanup.get_deployment(ep, dep))
                    .await,
                Some(Ok(Some(_)))
            );
        if self.settings.delete_failed_deployment && created && restored {
            let deleted = window
                .run_from(started, self.cancel, self.cleanup.delete_deployment(ep, dep))
                .await
                .unwrap_or_else(|| {
                    Err(AzureMlError::new(
                        amlops_azureml::ErrorKind::Timeout,
                        "onlineDeployments.delete",
                        format!(
                            "not finished within the clean-up window; delete it with: az ml online-deployment \
                             delete --name {dep} --endpoint-name {ep} -g {} -w {} --yes",
                            self.settings.resource_group, self.settings.workspace
                        ),
                    ))
                });
            match deleted {
                Ok(()) => {
                    notes.push(format!("deployment '{dep}' deleted"));
                    self.out.line(&format!("Deployment '{dep}' deleted"));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    notes.push(format!("deleting '{dep}' failed: {e}"));
                    self.out
                        .warning(&format!("Deleting the deployment '{dep}' failed: {e}"));
                }
            }
        }
        self.out.set_output("traffic", &to_json(&after));
        summary.after = after;
        summary.after_mirror = after_mirror;
        summary.result = if f.canceled {
            "Canceled"
        } else if restored && progress.touched {
            "Rolled back"
        } else {
            "Failed"
        }
        .into();
        summary.reason = Some(f.reason.clone());
        self.write_summary(summary);
        if let Some(events) = self.events {
            events
                .emit(
                    Event::deployment_rolled_back(self.deployment_ref(), f.reason.clone())
                        .detail(
                            "analysis",
                            progress
                                .analysis
                                .iter()
                                .find(|a| !a.passed)
                                .map_or(serde_json::Value::Null, StepAnalysis::event_detail),
                        )
                        .detail("endpoint", ep),
                )
                .await;
        }
        DeployError::RolledBack {
            deployment: dep.to_string(),
            reason: f.reason,
            actions: if notes.is_empty() {
                "nothing to undo".into()
            } else {
                notes.join("; ")
            },
            source: if f.canceled {
                Some(Box::new(Canceled))
            } else {
                f.source.map(|e| e as Box<dyn std::error::Error + Send + Sync>)
            },
        }
    }

    async fn clean_up(&self, ep: &str, dep: &str, traffic: &Split, mirror: &Split) -> Vec<String> {
        let list = match self.api.list_deployments(ep).await {
            Ok(l) => l,
            Err(e) => {
                self.out.warning(&format!(
                    "Cannot list the deployments of '{ep}' for the clean-up: {e}"
                ));
                return Vec::new();
            }
        };
        let existing: Vec<Existing> = list
            .iter()
            .filter_map(|d| {
                d.name.clone().map(|name| Existing {
                    name,
                    created_at: deployment_created_at(d),
                })
            })
            .collect();
        let mut deleted = Vec::new();
        for name in cleanup_selection(&existing, dep, traffic, mirror, self.settings.keep_previous) {
            self.out.line(&format!(
                "Deleting the old deployment '{name}' (no traffic; input 'keepPreviousDeployments' is {})",
                self.settings.keep_previous
            ));
            match self.api.delete_deployment(ep, &name).await {
                Ok(()) => deleted.push(name),
                Err(e) => self
                    .out
                    .warning(&format!("Deleting the old deployment '{name}' failed: {e}")),
            }
        }
        deleted
    }

    fn write_summary(&self, summary: &Summary) {
        let path = self.pipeline.temp_dir().join(format!(
            "amlops-deploy-{}-{}.md",
            self.endpoint_name(),
            self.dep_name()
        ));
        match std::fs::write(&path, summary_markdown(summary)) {
            Ok(()) => self.out.upload_summary(&path),
            Err(e) => self
                .out
                .warning(&format!("Cannot write the build summary {}: {e}", path.display())),
        }
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

fn environment_id(env: &str, workspace_id: &str) -> String {
    match amlops_spec::AssetRef::parse(env) {
        Ok(amlops_spec::AssetRef::Versioned { name, version }) => {
            format!("{workspace_id}/environments/{name}/versions/{version}")
        }
        Ok(amlops_spec::AssetRef::ArmId { id, .. }) => id,
        Ok(amlops_spec::AssetRef::Registry { uri, .. }) => uri,
        _ => env.trim_start_matches("azureml:").to_string(),
    }
}
