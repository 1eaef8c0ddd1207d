//! The emitter: one per task, it sends every event to the log, the build summary, the audit trail and the
//! webhooks.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amlops_agent::{CancellationToken, Issue, Output, PipelineContext, TaskContext};
use amlops_azureml::http::{ClientOptions, RetryPolicy, build_client_with};
use time::OffsetDateTime;

use crate::cloudevent::CloudEvent;
use crate::delivery::{TokenProvider, Transport};
use crate::error::EventsError;
use crate::event::{Event, WorkspaceInfo};
use crate::notify::{NotifySettings, SinkKind};
use crate::summary;

/// The pipeline artifact (and its container folder) holding the audit trail.
pub const AUDIT_ARTIFACT: &str = "amlops-audit";
/// The file name of the build-summary section.
pub const SUMMARY_FILE: &str = "AzureML events.md";
/// The timeout of one delivery attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The retry policy for webhooks: 4 attempts, 1 s backoff doubling, at most 60 s in all and 30 s of
/// `Retry-After`, so a slow webhook never holds a task for long.
pub fn default_retry_policy() -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    policy.max_attempts = 4;
    policy.max_total = Duration::from_secs(60);
    policy.max_retry_after = Duration::from_secs(30);
    policy
}

/// What [`Emitter::emit`] did with one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmitReport {
    /// The CloudEvent id.
    pub id: String,
    /// Sinks that accepted the event, as `kind (host)`.
    pub delivered: Vec<String>,
    /// Sinks that did not, as `kind (host)`.
    pub failed: Vec<String>,
    /// Whether `notifyOn` kept the event away from the webhooks.
    pub filtered_out: bool,
}

/// What [`Emitter::finish`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishReport {
    /// Events emitted.
    pub events: usize,
    /// The summary file uploaded, if any event was emitted.
    pub summary_path: Option<PathBuf>,
    /// The audit file, if any event was recorded.
    pub audit_path: Option<PathBuf>,
    /// Whether the audit file was uploaded as the artifact (not possible in release pipelines).
    pub audit_uploaded: bool,
    /// Failed deliveries over the emitter's life, as `kind (host)`.
    pub failed_deliveries: Vec<String>,
}

#[derive(Default)]
struct State {
    sections: Vec<String>,
    events: usize,
    audit_written: bool,
    audit_broken: bool,
    failed: Vec<String>,
}

/// Sets up an [`Emitter`]. [`EmitterBuilder::from_task`] reads everything from the task; tests and the CLI use
/// [`EmitterBuilder::new`] and the setters.
pub struct EmitterBuilder {
    output: Output,
    pipeline: PipelineContext,
    settings: NotifySettings,
    workspace: Option<WorkspaceInfo>,
    client: Option<reqwest::Client>,
    client_options: ClientOptions,
    network: amlops_agent::NetworkSettings,
    retry: RetryPolicy,
    timeout: Duration,
    cancel: CancellationToken,
    token_provider: Option<Arc<dyn TokenProvider>>,
    dir: Option<PathBuf>,
    upload_artifact: bool,
}

impl std::fmt::Debug for EmitterBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmitterBuilder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EmitterBuilder {
    /// A builder writing to `output` for the run `pipeline`, with no webhooks.
    pub fn new(output: Output, pipeline: PipelineContext) -> Self {
        Self {
            output,
            pipeline,
            settings: NotifySettings::default(),
            workspace: None,
            client: None,
            client_options: ClientOptions {
                connect_timeout: DEFAULT_TIMEOUT,
                read_timeout: DEFAULT_TIMEOUT,
            },
            network: amlops_agent::NetworkSettings::default(),
            retry: default_retry_policy(),
            timeout: DEFAULT_TIMEOUT,
            cancel: CancellationToken::new(),
            token_provider: None,
            dir: None,
            upload_artifact: true,
        }
    }

    /// Everything from the task: its output, run, network settings, cancellation token and the four inputs
    /// (`notify`, `notifyOn`, `notifySecret`, `failOnNotifyError`), whose URLs and keys are registered as secrets
    /// first. In a release pipeline (`System.HostType` other than `build`) the audit file is kept but not uploaded.
    pub fn from_task(ctx: &TaskContext) -> Result<Self, EventsError> {
        let settings = NotifySettings::from_env(&ctx.env, &ctx.output)?;
        let host_type = ctx
            .env
            .get_nonempty("SYSTEM_HOSTTYPE")
            .map(str::to_ascii_lowercase);
        let mut b = Self::new(ctx.output.clone(), ctx.pipeline.clone())
            .settings(settings)
            .cancel(ctx.cancel.clone());
        b.network = ctx.network.clone();
        b.upload_artifact = host_type.is_none_or(|h| h == "build");
        Ok(b)
    }

    /// The notification settings.
    pub fn settings(mut self, settings: NotifySettings) -> Self {
        self.settings = settings;
        self
    }

    /// The workspace recorded in every event.
    pub fn workspace(mut self, workspace: impl Into<Option<WorkspaceInfo>>) -> Self {
        self.workspace = workspace.into();
        self
    }

    /// Use this client instead of building one from the network settings.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The retry policy of deliveries (tests inject a sleeper).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeout of one delivery attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The task's cancellation token: once cancelled, deliveries are tried once, without retries.
    pub fn cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Where Entra tokens for Event Grid topics without an access key come from.
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// The directory for the summary and audit files (default: a new directory in the agent's temp directory).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Whether the audit file is uploaded as a pipeline artifact at [`Emitter::finish`].
    pub fn upload_artifact(mut self, upload: bool) -> Self {
        self.upload_artifact = upload;
        self
    }

    /// Check the settings and build the emitter. An Event Grid line without an access key needs a token provider.
    pub fn build(self) -> Result<Emitter, EventsError> {
        if self.token_provider.is_none()
            && let Some(t) = self
                .settings
                .targets
                .iter()
                .find(|t| t.kind == SinkKind::EventGrid && t.access_key.is_none())
        {
            return Err(EventsError::EventGridNeedsCredential { line: t.line });
        }
        let client = match self.client {
            Some(c) => c,
            None => build_client_with(&self.network, &self.client_options)
                .map_err(|e| EventsError::Client(e.to_string()))?,
        };
        let dir = self.dir.unwrap_or_else(|| {
            self.pipeline
                .temp_dir()
                .join("amlops-events")
                .join(uuid::Uuid::new_v4().simple().to_string())
        });
        let stamp = OffsetDateTime::now_utc();
        let audit_name = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{}-{}.jsonl",
            stamp.year(),
            u8::from(stamp.month()),
            stamp.day(),
            stamp.hour(),
            stamp.minute(),
            stamp.second(),
            file_safe(self.pipeline.step_name.as_deref().unwrap_or("task")),
            &uuid::Uuid::new_v4().simple().to_string()[..8],
        );
        let transport = Transport {
            client,
            retry: self.retry,
            timeout: self.timeout,
            token_provider: self.token_provider,
            output: self.output.clone(),
        };
        Ok(Emitter {
            output: self.output,
            pipeline: self.pipeline,
            workspace: Mutex::new(self.workspace),
            settings: self.settings,
            transport,
            cancel: self.cancel,
            audit_path: dir.join(AUDIT_ARTIFACT).join(audit_name),
            summary_path: dir.join(SUMMARY_FILE),
            upload_artifact: self.upload_artifact,
            state: Mutex::new(State::default()),
        })
    }
}

/// Keep letters, digits, `-` and `_`; at most 40 characters.
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if s.is_empty() { "task".into() } else { s }
}

/// Sends lifecycle events to the log, the build summary, the audit trail and the webhooks. Create one per task
/// ([`Emitter::from_task`]), call [`Emitter::emit`] for each event and [`Emitter::finish`] once at the end, on the
/// failure path too.
pub struct Emitter {
    output: Output,
    pipeline: PipelineContext,
    workspace: Mutex<Option<WorkspaceInfo>>,
    settings: NotifySettings,
    transport: Transport,
    cancel: CancellationToken,
    audit_path: PathBuf,
    summary_path: PathBuf,
    upload_artifact: bool,
    state: Mutex<State>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("settings", &self.settings)
            .field("audit_path", &self.audit_path)
            .finish_non_exhaustive()
    }
}

impl Emitter {
    /// The emitter of a task, reading the four notification inputs; `workspace` may be set later with
    /// [`Emitter::set_workspace`]. Event Grid lines without an access key need
    /// [`EmitterBuilder::token_provider`]: use the builder for those.
    pub fn from_task(
        ctx: &TaskContext,
        workspace: impl Into<Option<WorkspaceInfo>>,
    ) -> Result<Self, EventsError> {
        EmitterBuilder::from_task(ctx)?.workspace(workspace).build()
    }

    /// The notification settings in use.
    pub fn settings(&self) -> &NotifySettings {
        &self.settings
    }

    /// Set or replace the workspace recorded in later events.
    pub fn set_workspace(&self, workspace: WorkspaceInfo) {
        *lock(&self.workspace) = Some(workspace);
    }

    /// The audit file (JSON Lines, one CloudEvent a line).
    pub fn audit_path(&self) -> &Path {
        &self.audit_path
    }

    /// Emit one event: log it, add it to the summary, append it to the audit trail and, if `notifyOn` lets it
    /// through, deliver it to every webhook (in parallel, with retries). A failed delivery is a warning naming the
    /// sink's kind and host; it never returns an error (see [`Emitter::finish`] for `failOnNotifyError`).
    pub async fn emit(&self, event: Event) -> EmitReport {
        let workspace = lock(&self.workspace).clone();
        let ce = CloudEvent::build(
            &event,
            &self.pipeline,
            workspace.as_ref(),
            uuid::Uuid::new_v4().to_string(),
            OffsetDateTime::now_utc(),
        );
        let mut line = format!("Event {}: {} ({})", ce.event_type, ce.data.title, ce.data.outcome);
        if let Some(subject) = &ce.subject {
            line.push_str(&format!(" subject {subject}"));
        }
        self.output.line(&line);
        if let Some(message) = &ce.data.message {
            self.output.line(&format!("  {message}"));
        }
        self.append_audit(&ce);

        let mut report = EmitReport {
            id: ce.id.clone(),
            ..EmitReport::default()
        };
        let mut deliveries = Vec::new();
        if !self.settings.filter.allows(event.event_type) {
            report.filtered_out = !self.settings.targets.is_empty();
            if report.filtered_out {
                self.output.debug(&format!(
                    "notifyOn excludes {}: not sent to webhooks",
                    ce.event_type
                ));
            }
        } else if !self.settings.targets.is_empty() {
            let retry = if self.cancel.is_cancelled() {
                RetryPolicy::none()
            } else {
                self.transport.retry.clone()
            };
            let secret = self.settings.secret.as_deref();
            let sends = self.settings.targets.iter().map(|t| {
                let retry = &retry;
                let ce = &ce;
                async move { (t, self.transport.deliver(t, ce, secret, retry).await) }
            });
            for (target, result) in futures::future::join_all(sends).await {
                let name = target.redacted();
                match result {
                    Ok(attempts) => {
                        let tries = if attempts > 1 {
                            format!(" after {attempts} attempts")
                        } else {
                            String::new()
                        };
                        self.output.line(&format!("  sent to {name}{tries}"));
                        deliveries.push(format!("{name}: delivered"));
                        report.delivered.push(name);
                    }
                    Err(failure) => {
                        let tries = match failure.attempts {
                            0 => String::new(),
                            1 => " (1 attempt)".to_string(),
                            n => format!(" ({n} attempts)"),
                        };
                        self.output.log_issue(&Issue::warning(format!(
                            "could not deliver the {} event to the {name} sink (notify line {}): {}{tries}",
                            ce.event_type, target.line, failure.reason
                        )));
                        deliveries.push(format!("{name}: failed"));
                        report.failed.push(name);
                    }
                }
            }
        }
        let section = summary::section(&ce, &deliveries);
        let mut state = lock(&self.state);
        state.events += 1;
        state.sections.push(section);
        state.failed.extend(report.failed.iter().cloned());
        report
    }

    fn append_audit(&self, ce: &CloudEvent) {
        let mut state = lock(&self.state);
        if state.audit_broken {
            return;
        }
        let result = (|| -> std::io::Result<()> {
            if let Some(parent) = self.audit_path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.audit_path)?;
            file.write_all(format!("{}\n", ce.to_json()).as_bytes())?;
            file.flush()
        })();
        match result {
            Ok(()) => state.audit_written = true,
            Err(e) => {
                state.audit_broken = true;
                self.output.log_issue(&Issue::warning(format!(
                    "cannot write the audit trail '{}': {e}; events are still logged and sent",
                    self.audit_path.display()
                )));
            }
        }
    }

    /// [`Emitter::finish`] after the task's work: the task's own error comes first; otherwise a delivery failure
    /// (only with `failOnNotifyError`) becomes the task's error through `on_delivery_error`.
    pub async fn finish_after<T, E>(
        self,
        result: Result<T, E>,
        on_delivery_error: impl FnOnce(EventsError) -> E,
    ) -> Result<T, E> {
        let delivered = self.finish().await;
        match (result, delivered) {
            (Err(e), _) => Err(e),
            (Ok(_), Err(e)) => Err(on_delivery_error(e)),
            (Ok(value), Ok(_)) => Ok(value),
        }
    }

    /// Write the build-summary section and upload it (`task.uploadsummary`), upload the audit file as the
    /// artifact `amlops-audit` (`artifact.upload`), and report. Nothing is uploaded when no event was emitted.
    /// Returns [`EventsError::DeliveryFailed`] only when `failOnNotifyError` is true and a delivery failed.
    pub async fn finish(self) -> Result<FinishReport, EventsError> {
        let state = std::mem::take(&mut *lock(&self.state));
        let mut report = FinishReport {
            events: state.events,
            failed_deliveries: state.failed.clone(),
            ..Default::default()
        };
        if state.events > 0 {
            let doc = summary::document(self.pipeline.step_name.as_deref(), &state.sections);
            let written = self
                .summary_path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&self.summary_path, doc));
            match written {
                Ok(()) => {
                    self.output.upload_summary(&self.summary_path);
                    report.summary_path = Some(self.summary_path.clone());
                }
                Err(e) => self.output.log_issue(&Issue::warning(format!(
                    "cannot write the build summary '{}': {e}",
                    self.summary_path.display()
                ))),
            }
        }
        if state.audit_written {
            report.audit_path = Some(self.audit_path.clone());
            if self.upload_artifact {
                self.output
                    .upload_artifact(AUDIT_ARTIFACT, AUDIT_ARTIFACT, &self.audit_path);
                report.audit_uploaded = true;
            } else {
                self.output.line(&format!(
                    "The audit trail is at {} (artifacts can only be uploaded from build pipelines)",
                    self.audit_path.display()
                ));
            }
        }
        if self.settings.fail_on_error && !state.failed.is_empty() {
            let mut sinks = state.failed.clone();
            sinks.sort();
            sinks.dedup();
            return Err(EventsError::DeliveryFailed {
                count: state.failed.len(),
                sinks: sinks.join(", "),
            });
        }
        Ok(report)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
