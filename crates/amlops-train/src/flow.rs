//! The task's flow over a [`JobApi`]: plan the YAML, pick the job name (re-attaching where a job exists), submit,
//! wait while streaming logs, cancel on the agent's signal or the timeout, and publish the result.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use amlops_agent::{AzureEnvironment, Canceled, CancellationToken, Outcome, TaskContext};
use amlops_azureml::AzureMlError;
use amlops_events::{AssetRef, Emitter, Event};
use amlops_spec::{
    AssetType, Kind, PathSegment, Plan, PlanOptions, PrecomputedResolver, Scope, SetOverride, Upload,
    UploadOutcome, plan_file,
};
use serde_json::Value;
use tokio::time::Instant;

use crate::api::{JobApi, JobInfo, RunDetails};
use crate::logs::{LogStreamer, select_log_files};
use crate::naming::{adhoc_job_name, attempt_name, default_job_name};
use crate::poll::{PollConfig, PollSchedule};
use crate::report::{
    StepRow, SummaryData, format_value, governance_tags, metric_output_name, studio_url, summary_markdown,
};
use crate::status::{Attach, JobStatus, decide};
use crate::{TrainError, TrainInputs};

/// Most resubmissions followed along a name chain (`<name>`, `<name>-retry2`, ...).
pub const MAX_RESUBMISSIONS: u32 = 20;

/// Timing of the flow.
#[derive(Debug, Clone)]
pub struct TrainSettings {
    /// Status polling.
    pub poll: PollConfig,
    /// Budget of the cancel request after a signal or timeout. Default 2 s.
    pub cancel_request_timeout: Duration,
    /// How long to watch a cancelled job reach Canceled before exiting. Default 3 s.
    pub cancel_wait: Duration,
    /// Consecutive failed status polls tolerated (after the client's own retries). Default 10.
    pub max_poll_failures: u32,
    /// The job the task is waiting for, while it waits: the panic clean-up hook ([`crate::register_panic_cancel`])
    /// cancels it if the task panics.
    pub watched_job: WatchedJob,
}

/// The name of the job being waited for, shared with the panic clean-up hook.
#[derive(Debug, Clone, Default)]
pub struct WatchedJob(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl WatchedJob {
    /// Set (or clear) the job.
    pub fn set(&self, name: Option<&str>) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *slot = name.map(str::to_string);
    }

    /// The job, if one is being waited for.
    pub fn get(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            poll: PollConfig::default(),
            cancel_request_timeout: Duration::from_secs(2),
            cancel_wait: Duration::from_secs(3),
            max_poll_failures: 10,
            watched_job: WatchedJob::default(),
        }
    }
}

/// Where the job runs, for names and links.
#[derive(Debug, Clone)]
pub struct WorkspaceRef {
    /// The cloud.
    pub environment: AzureEnvironment,
    /// Subscription.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Workspace.
    pub workspace: String,
    /// Tenant (for the studio link).
    pub tenant: Option<String>,
}

/// One run of the task's flow.
pub struct Train<'a> {
    /// The task context (output, pipeline, cancellation).
    pub ctx: &'a TaskContext,
    /// The inputs.
    pub inputs: &'a TrainInputs,
    /// The operations, observing the task's cancellation token.
    pub api: &'a dyn JobApi,
    /// The same operations on a token of their own, for the clean-up after a cancellation (cancel request, last
    /// status).
    pub cleanup: &'a dyn JobApi,
    /// Timing.
    pub settings: &'a TrainSettings,
    /// The workspace.
    pub workspace: &'a WorkspaceRef,
    /// Lifecycle events, if enabled.
    pub events: Option<&'a Emitter>,
}

fn string_override(key: &str, value: &str) -> SetOverride {
    SetOverride {
        path: vec![PathSegment::Key(key.to_string())],
        value: Value::String(value.to_string()),
        expression: format!("{key}={value}"),
    }
}

fn api_err(context: impl Into<String>) -> impl FnOnce(AzureMlError) -> TrainError {
    let context = context.into();
    move |source| TrainError::Api {
        context,
        source: Box::new(source),
    }
}

impl Train<'_> {
    fn out(&self) -> &amlops_agent::Output {
        &self.ctx.output
    }

    fn cancel(&self) -> &CancellationToken {
        &self.ctx.cancel
    }

    fn plan(&self, name: Option<&str>) -> Result<Plan, TrainError> {
        let mut overrides = Vec::new();
        for (k, v) in &self.inputs.overrides {
            overrides.push(SetOverride::parse(&format!("{k}={v}")).map_err(TrainError::Spec)?);
        }
        if let Some(e) = &self.inputs.experiment_name {
            overrides.push(string_override("experiment_name", e));
        }
        if let Some(n) = name {
            overrides.push(string_override("name", n));
        }
        let options = PlanOptions {
            kind: Some(Kind::Job),
            overrides,
            scope: Scope {
                subscription: self.workspace.subscription.clone(),
                resource_group: self.workspace.resource_group.clone(),
                workspace: self.workspace.workspace.clone(),
                location: String::new(),
            },
            job_name: name.map(str::to_string),
            tags: governance_tags(&self.ctx.pipeline),
            ..PlanOptions::default()
        };
        plan_file(&self.inputs.job_file, options).map_err(TrainError::Spec)
    }

    fn studio(&self, info: Option<&JobInfo>, name: &str) -> String {
        info.and_then(|i| i.studio_url.clone()).unwrap_or_else(|| {
            studio_url(
                &self.workspace.environment,
                &self.workspace.subscription,
                &self.workspace.resource_group,
                &self.workspace.workspace,
                name,
                self.workspace.tenant.as_deref(),
            )
        })
    }

    /// Run the flow.
    pub async fn run(&self) -> Result<Outcome, TrainError> {
        // Validate the YAML before touching the workspace, and learn its own name.
        let first = self.plan(None)?;
        let yaml_name = first.document()["name"].as_str().map(str::to_string);
        let base = choose_base_name(
            self.inputs.job_name.as_deref(),
            default_job_name(&self.ctx.pipeline).as_deref(),
            yaml_name.as_deref(),
        );
        if let Some(y) = yaml_name.as_deref().filter(|y| *y != base) {
            self.out().line(&format!(
                "The job is named '{base}' (the YAML's name '{y}' is replaced so that each pipeline run and step \
                 has its own job; set the input 'jobName' to choose a name)."
            ));
        }

        let mut chosen = None;
        for n in 1..=MAX_RESUBMISSIONS {
            let name = attempt_name(&base, n);
            let existing = self
                .api
                .get_job(&name)
                .await
                .map_err(api_err(format!("cannot look up the job '{name}'")))?;
            let status = existing
                .as_ref()
                .map(|j| j.status.clone().unwrap_or(JobStatus::Unknown("".into())));
            match decide(status.as_ref()) {
                Attach::Resubmit => {
                    self.out().line(&format!(
                        "The job '{name}' failed in an earlier attempt of this stage; submitting it again as '{}'.",
                        attempt_name(&base, n + 1)
                    ));
                }
                Attach::Submit => {
                    chosen = Some((name, None));
                    break;
                }
                Attach::Wait(s) | Attach::Report(s) => {
                    self.out().line(&format!(
                        "Re-attaching to the job '{name}' submitted by an earlier attempt (status {s})."
                    ));
                    chosen = Some((name, existing));
                    break;
                }
            }
        }
        let Some((name, existing)) = chosen else {
            return Err(TrainError::TooManyResubmissions {
                base,
                max: MAX_RESUBMISSIONS,
            });
        };
        let reattached = existing.is_some();
        let info = match existing {
            Some(info) => info,
            None => match self.submit(&name).await {
                Ok(info) => info,
                Err(e) if self.cancel().is_cancelled() => {
                    // The PUT may have reached Azure ML before the signal: never leave that job running.
                    if let Ok(Ok(Some(_))) = tokio::time::timeout(
                        self.settings.cancel_request_timeout,
                        self.cleanup.get_job(&name),
                    )
                    .await
                    {
                        return Err(self.on_cancel(&name).await);
                    }
                    return Err(e);
                }
                Err(e) => return Err(e),
            },
        };
        let studio = self.studio(Some(&info), &name);
        self.out().set_output("jobName", &name);
        self.out().set_output("studioUrl", &studio);
        self.out().line(&format!("Azure ML studio: {studio}"));

        if !self.inputs.wait {
            let status = info.status.clone().unwrap_or(JobStatus::NotStarted);
            self.out().set_output("jobStatus", status.as_str());
            return Ok(Outcome::succeeded(format!(
                "Azure ML job '{name}' is {status}; not waiting for it (wait: false)"
            )));
        }
        self.settings.watched_job.set(Some(&name));
        let waited = self.wait(&name, info).await;
        self.settings.watched_job.set(None);
        let final_info = waited?;
        self.finish(&name, final_info, reattached).await
    }

    async fn submit(&self, name: &str) -> Result<JobInfo, TrainError> {
        let plan = self.plan(Some(name))?;
        let mut resolved = PrecomputedResolver {
            uploads: HashMap::new(),
            latest: HashMap::new(),
        };
        let mut done: Vec<(&Upload, UploadOutcome)> = Vec::new();
        for upload in plan.uploads() {
            // Steps sharing a folder (and its additional includes) share its upload.
            if let Some((_, outcome)) = done.iter().find(|(u, _)| {
                u.role == upload.role
                    && u.local_path == upload.local_path
                    && u.additional_includes == upload.additional_includes
            }) {
                resolved.uploads.insert(upload.index, outcome.clone());
                continue;
            }
            self.out()
                .line(&format!("Uploading {} ...", upload.local_path.display()));
            let outcome = self.api.upload(upload).await.map_err(api_err(format!(
                "cannot upload '{}'",
                upload.local_path.display()
            )))?;
            resolved.uploads.insert(upload.index, outcome.clone());
            done.push((upload, outcome));
        }
        for lookup in plan.lookups() {
            let asset = AssetType::from_collection(lookup.collection).ok_or_else(|| {
                TrainError::Setup(format!(
                    "cannot resolve '{}@latest': unknown asset collection '{}'",
                    lookup.name, lookup.collection
                ))
            })?;
            let version = self
                .api
                .latest_version(asset, &lookup.name)
                .await
                .map_err(api_err(format!(
                    "cannot find the latest version of '{}'",
                    lookup.name
                )))?;
            resolved
                .latest
                .insert((lookup.collection.to_string(), lookup.name.clone()), version);
        }
        // The client created the code versions of the uploads already; their rendered PUTs are not repeated.
        let rendered = plan.render(&mut resolved).map_err(TrainError::Spec)?;
        let requests = resolved.without_uploaded_code(rendered);
        let mut last = Value::Null;
        let count = requests.len();
        for (i, request) in requests.iter().enumerate() {
            let is_job = i + 1 == count;
            if is_job {
                self.out().line(&format!("Submitting the job '{name}'"));
            } else {
                self.out()
                    .line(&format!("Creating {}", describe_request(&request.path)));
            }
            last = self.api.send(request).await.map_err(api_err(if is_job {
                format!("cannot submit the job '{name}'")
            } else {
                format!("cannot create {}", request.path)
            }))?;
        }
        let mut info = JobInfo::from_json(name, &last);
        info.name = name.to_string();
        Ok(info)
    }

    async fn wait(&self, name: &str, mut info: JobInfo) -> Result<JobInfo, TrainError> {
        let timeout = (self.inputs.timeout_minutes > 0)
            .then(|| Duration::from_secs(u64::from(self.inputs.timeout_minutes) * 60));
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut schedule = PollSchedule::new(self.settings.poll);
        let mut last_status: Option<JobStatus> = None;
        let mut logs = LogState::default();
        let mut failures = 0u32;
        loop {
            if info.status != last_status {
                let shown = info.status.clone().unwrap_or(JobStatus::Unknown("(none)".into()));
                self.close_group(&mut logs);
                self.out().line(&format!("Job '{name}' status: {shown}"));
                last_status = info.status.clone();
                schedule.reset();
            }
            let terminal = info.status.as_ref().is_some_and(JobStatus::is_terminal);
            if self.inputs.stream_logs {
                self.stream_logs(name, &info, &mut logs, terminal).await?;
            }
            if terminal {
                self.close_group(&mut logs);
                return Ok(info);
            }
            let mut pause = schedule.next(info.retry_after);
            let mut hits_deadline = false;
            if let Some(d) = deadline {
                let left = d.saturating_duration_since(Instant::now());
                if left <= pause {
                    pause = left;
                    hits_deadline = true;
                }
            }
            tokio::select! {
                biased;
                _ = self.cancel().cancelled() => {
                    self.close_group(&mut logs);
                    return Err(self.on_cancel(name).await);
                }
                _ = tokio::time::sleep(pause) => {}
            }
            if hits_deadline {
                self.close_group(&mut logs);
                return Err(self.on_timeout(name).await);
            }
            match self.api.get_job(name).await {
                Ok(Some(j)) => {
                    info = j;
                    failures = 0;
                }
                Ok(None) => {
                    return Err(TrainError::JobVanished {
                        job: name.to_string(),
                    });
                }
                Err(e) if e.is_canceled() || self.cancel().is_cancelled() => {
                    self.close_group(&mut logs);
                    return Err(self.on_cancel(name).await);
                }
                Err(e) => {
                    failures += 1;
                    if failures > self.settings.max_poll_failures {
                        return Err(TrainError::Api {
                            context: format!(
                                "cannot get the status of the job '{name}' ({failures} failed polls)"
                            ),
                            source: Box::new(e),
                        });
                    }
                    self.close_group(&mut logs);
                    self.out()
                        .warning(&format!("Getting the job's status failed; trying again: {e}"));
                }
            }
        }
    }

    async fn stream_logs(
        &self,
        name: &str,
        info: &JobInfo,
        logs: &mut LogState,
        terminal: bool,
    ) -> Result<(), TrainError> {
        let result = if info.is_pipeline() {
            self.stream_pipeline(name, logs, terminal).await
        } else {
            match self.api.run_details(name).await {
                Ok(d) => self.stream_run(&d, "", logs, terminal, None).await,
                Err(e) => Err(e),
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.is_canceled() || self.cancel().is_cancelled() => {
                self.close_group(logs);
                Err(self.on_cancel(name).await)
            }
            Err(e) => {
                self.close_group(logs);
                if !logs.warned {
                    self.out().warning(&format!(
                        "Streaming the job's logs failed (the wait goes on): {e}"
                    ));
                    logs.warned = true;
                } else {
                    tracing::debug!("log streaming failed again: {e}");
                }
                Ok(())
            }
        }
    }

    async fn stream_pipeline(
        &self,
        name: &str,
        logs: &mut LogState,
        terminal: bool,
    ) -> Result<(), AzureMlError> {
        let children = self.api.children(name).await?;
        for child in &children {
            let step = child.step_name();
            let changed = child
                .status
                .as_ref()
                .filter(|s| logs.step_status.get(&child.run_id) != Some(*s))
                .cloned();
            let child_terminal = terminal || child.status.as_ref().is_some_and(JobStatus::is_terminal);
            // A step that starts is announced before its lines, one that ends after its last ones.
            if let Some(s) = changed.as_ref().filter(|s| !s.is_terminal()) {
                self.close_group(logs);
                self.out().line(&format!("Step '{step}' status: {s}"));
            }
            let prefix = format!("{}/", child.run_id);
            self.stream_run(child, &prefix, logs, child_terminal, Some(&step))
                .await?;
            if let Some(s) = changed {
                if s.is_terminal() {
                    self.close_group(logs);
                    self.out().line(&format!("Step '{step}' status: {s}"));
                }
                logs.step_status.insert(child.run_id.clone(), s);
            }
        }
        Ok(())
    }

    /// Fetch the new bytes of a run's log files and print the new lines (in a group titled after the step for
    /// pipeline steps).
    async fn stream_run(
        &self,
        run: &RunDetails,
        key_prefix: &str,
        logs: &mut LogState,
        terminal: bool,
        group: Option<&str>,
    ) -> Result<(), AzureMlError> {
        let files = select_log_files(run.log_files.keys().map(String::as_str));
        let mut lines = Vec::new();
        for file in &files {
            let key = format!("{key_prefix}{file}");
            let from = logs.streamer.offset(&key);
            let chunk = self.api.read_log(&run.log_files[file], from).await?;
            let mut new = logs.streamer.push(&key, chunk.start, &chunk.bytes);
            if terminal {
                new.extend(logs.streamer.finish(&key));
            }
            let short = file.rsplit('/').next().unwrap_or(file);
            lines.extend(new.into_iter().map(|l| {
                if files.len() > 1 {
                    format!("[{short}] {l}")
                } else {
                    l
                }
            }));
        }
        if lines.is_empty() {
            return Ok(());
        }
        // A step's group stays open while only that step prints, so its lines form one group.
        if let Some(g) = group
            && logs.open_group.as_deref() != Some(g)
        {
            self.close_group(logs);
            self.out().group(&format!("Step {g}"));
            logs.open_group = Some(g.to_string());
        }
        for l in &lines {
            self.out().line(l);
        }
        Ok(())
    }

    fn close_group(&self, logs: &mut LogState) {
        if logs.open_group.take().is_some() {
            self.out().end_group();
        }
    }

    /// Request cancellation of the job (within the settings' budget), watch it briefly, and give the error that
    /// ends the task as Canceled.
    async fn on_cancel(&self, name: &str) -> TrainError {
        self.out().warning(&format!(
            "The pipeline was cancelled: cancelling the Azure ML job '{name}'"
        ));
        let status = self.cancel_job(name).await;
        if let Some(events) = self.events {
            let event = Event::job_canceled(AssetRef::job(name)).message("cancelled with the pipeline");
            events.emit(event).await;
        }
        TrainError::Canceled {
            job: name.to_string(),
            status: status.map_or_else(|| "unknown".to_string(), |s| s.to_string()),
            source: Canceled,
        }
    }

    async fn on_timeout(&self, name: &str) -> TrainError {
        let minutes = self.inputs.timeout_minutes;
        let studio = self.studio(None, name);
        if !self.inputs.cancel_on_timeout {
            self.out().set_output("jobStatus", "Running");
            return TrainError::TimedOut {
                job: name.to_string(),
                minutes,
                action: "it is still running in Azure ML (cancelOnTimeout is false)".into(),
                studio_url: studio,
            };
        }
        self.out().warning(&format!(
            "The job '{name}' did not finish within {minutes} minute(s): cancelling it"
        ));
        let status = self.cancel_job(name).await;
        if let Some(s) = &status {
            self.out().set_output("jobStatus", s.as_str());
        }
        if let Some(events) = self.events {
            let event = Event::job_canceled(AssetRef::job(name))
                .message(format!("timed out after {minutes} minute(s) (timeoutMinutes)"));
            events.emit(event).await;
        }
        TrainError::TimedOut {
            job: name.to_string(),
            minutes,
            action: "its cancellation was requested".into(),
            studio_url: studio,
        }
    }

    /// Send the cancel request with a fresh token (the task's own is already cancelled), then poll briefly until
    /// the job is Canceled (or any terminal status). Returns the last status seen.
    async fn cancel_job(&self, name: &str) -> Option<JobStatus> {
        let budget = self.settings.cancel_request_timeout;
        match tokio::time::timeout(budget, self.cleanup.cancel_job(name)).await {
            Ok(Ok(())) => self
                .out()
                .line(&format!("Cancellation of the job '{name}' requested.")),
            Ok(Err(e)) => self
                .out()
                .warning(&format!("Cancelling the job '{name}' failed: {e}")),
            Err(_) => {
                self.out().warning(&format!(
                    "Cancelling the job '{name}' did not answer within {} s",
                    budget.as_secs_f32()
                ));
            }
        }
        let until = Instant::now() + self.settings.cancel_wait;
        let step = self.settings.poll.initial.min(Duration::from_millis(500));
        let mut last = None;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if let Ok(Ok(Some(j))) = tokio::time::timeout(left, self.cleanup.get_job(name)).await {
                last = j.status.clone();
                if last.as_ref().is_some_and(JobStatus::is_terminal) {
                    break;
                }
            }
            tokio::time::sleep(step.min(until.saturating_duration_since(Instant::now()))).await;
        }
        match &last {
            Some(s) => self.out().line(&format!("Job '{name}' status: {s}")),
            None => self
                .out()
                .line(&format!("The status of the job '{name}' is not known yet.")),
        }
        last
    }

    async fn finish(&self, name: &str, info: JobInfo, reattached: bool) -> Result<Outcome, TrainError> {
        let status = info.status.clone().unwrap_or(JobStatus::Unknown(String::new()));
        let studio = self.studio(Some(&info), name);
        let details = match self.api.run_details(name).await {
            Ok(d) => Some(d),
            Err(e) => {
                self.out()
                    .warning(&format!("Cannot read the job's run details: {e}"));
                None
            }
        };
        let mut metrics: Vec<(String, String, f64)> = Vec::new();
        let mut steps = Vec::new();
        match self.api.metrics(name).await {
            Ok(m) => metrics.extend(m.into_iter().map(|(k, v)| (String::new(), k, v))),
            Err(e) => self.out().warning(&format!("Cannot read the job's metrics: {e}")),
        }
        if info.is_pipeline() {
            match self.api.children(name).await {
                Ok(children) => {
                    for c in children {
                        let step = c.step_name();
                        match self.api.metrics(&c.run_id).await {
                            Ok(m) => metrics.extend(m.into_iter().map(|(k, v)| (step.clone(), k, v))),
                            Err(e) => self
                                .out()
                                .warning(&format!("Cannot read the metrics of step '{step}': {e}")),
                        }
                        steps.push(StepRow {
                            name: step,
                            status: c.status.clone().unwrap_or(JobStatus::Unknown(String::new())),
                            duration: c.duration(),
                        });
                    }
                }
                Err(e) => self
                    .out()
                    .warning(&format!("Cannot list the pipeline's steps: {e}")),
            }
        }

        // Outputs: the job's own metrics first, then each step's; the first value of a name wins.
        self.out().set_output("jobStatus", status.as_str());
        let mut published: BTreeMap<String, f64> = BTreeMap::new();
        for (_, metric, value) in &metrics {
            let var = metric_output_name(metric);
            if published.contains_key(&var) {
                continue;
            }
            self.out().set_output(&var, &format_value(*value));
            published.insert(var, *value);
        }

        let error = details.as_ref().and_then(|d| d.error.clone());
        let summary = SummaryData {
            job_name: name.to_string(),
            display_name: info.display_name.clone(),
            job_type: info.job_type.clone(),
            experiment: info.experiment_name.clone(),
            status: status.clone(),
            duration: details.as_ref().and_then(RunDetails::duration),
            compute: info.compute_name(),
            metrics: metrics.clone(),
            steps,
            error: error.clone(),
            studio_url: studio.clone(),
            reattached,
        };
        let dir = self.ctx.pipeline.temp_dir();
        let path = dir.join(format!("amlops-train-{name}.md"));
        match std::fs::write(&path, summary_markdown(&summary)) {
            Ok(()) => self.out().upload_summary(&path),
            Err(e) => self
                .out()
                .warning(&format!("Cannot write the build summary {}: {e}", path.display())),
        }

        let message = error.unwrap_or_else(|| format!("the job ended {status}"));
        if let Some(events) = self.events {
            let job = AssetRef::job(name);
            let event = match &status {
                JobStatus::Completed => Event::job_completed(job),
                JobStatus::Canceled => Event::job_canceled(job),
                _ => Event::job_failed(job, message.clone()),
            };
            let event = event
                .metrics(metrics.iter().map(|(_, k, v)| (k.clone(), *v)))
                .detail("studioUrl", studio.clone());
            events.emit(event).await;
        }
        if status.is_success() {
            Ok(Outcome::succeeded(format!("Azure ML job '{name}' completed")))
        } else {
            Err(TrainError::JobFailed {
                job: name.to_string(),
                status: status.to_string(),
                message,
                studio_url: studio,
            })
        }
    }
}

/// The base job name: the `jobName` input, else the deterministic name of the pipeline run and step, else the
/// YAML's own `name` (outside a pipeline), else a fresh name.
pub fn choose_base_name(input: Option<&str>, run_default: Option<&str>, yaml: Option<&str>) -> String {
    input
        .or(run_default)
        .or(yaml)
        .map(str::to_string)
        .unwrap_or_else(adhoc_job_name)
}

/// `…/components/{name}/versions/{version}` -> `component name:version`; anything else as it is.
fn describe_request(path: &str) -> String {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    if n >= 4 && parts[n - 2] == "versions" {
        let kind = parts[n - 4].trim_end_matches('s');
        return format!("{kind} {}:{}", parts[n - 3], parts[n - 1]);
    }
    path.to_string()
}

#[derive(Default)]
struct LogState {
    /// The step whose `##[group]` is open.
    open_group: Option<String>,
    streamer: LogStreamer,
    step_status: HashMap<String, JobStatus>,
    warned: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_dependency_requests() {
        assert_eq!(
            describe_request(
                "/subscriptions/s/resourceGroups/g/providers/P/workspaces/w/components/c1/versions/2"
            ),
            "component c1:2"
        );
        assert_eq!(describe_request("/x/codes/c/versions/1"), "code c:1");
        assert_eq!(describe_request("/x/jobs/j"), "/x/jobs/j");
    }

    #[test]
    fn base_name_precedence() {
        assert_eq!(choose_base_name(Some("in"), Some("run"), Some("yaml")), "in");
        assert_eq!(choose_base_name(None, Some("run"), Some("yaml")), "run");
        assert_eq!(choose_base_name(None, None, Some("yaml")), "yaml");
        assert!(choose_base_name(None, None, None).starts_with("amlops-"));
    }
}
