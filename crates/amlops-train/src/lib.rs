//! AzureMLTrain@1: submit an `az ml` job YAML to Azure Machine Learning, stream its logs, wait, cancel on
//! cancellation, re-attach on re-runs, and publish its metrics.
//!
//! - [`TrainInputs`]: the inputs (names as in task.json).
//! - [`naming`]: the deterministic default job name and the resubmission chain.
//! - [`status`]: job statuses and the re-attach decision.
//! - [`logs`]: the incremental log streamer.
//! - [`poll`]: adaptive poll intervals.
//! - [`report`]: metric output names, governance tags, the studio link and the build summary.
//! - [`api`]: the operations the flow needs ([`api::JobApi`]); [`client_api`] implements them with the client
//!   crate.
//! - [`flow`]: the flow itself ([`flow::Train`]).
//!
//! `AMLOPS_POLL_INTERVAL_MS` (tests only, honoured only under the test harness, see [`amlops_agent::knobs`]): a
//! fixed poll interval in milliseconds instead of the adaptive one.

pub mod api;
pub mod client_api;
pub mod flow;
pub mod logs;
pub mod naming;
pub mod poll;
pub mod report;
pub mod status;

use std::path::PathBuf;

use amlops_agent::{
    AzureAuth, AzureRmConnection, Canceled, CancellationToken, Outcome, TaskContext, TaskEnv, TaskError,
};
use amlops_azureml::AzureMlError;
use amlops_events::{Emitter, WorkspaceInfo};

use crate::client_api::ClientJobApi;
use crate::flow::{Train, TrainSettings, WorkspaceRef};
use crate::poll::PollConfig;

/// The environment variable that fixes the poll interval (tests only; see [`amlops_agent::knobs`]).
pub const POLL_INTERVAL_VAR: &str = amlops_agent::knobs::POLL_INTERVAL_VAR;

/// The task's inputs, validated.
#[derive(Debug, Clone)]
pub struct TrainInputs {
    /// `azureSubscription`.
    pub connection: AzureRmConnection,
    /// `resourceGroup`.
    pub resource_group: String,
    /// `workspace`.
    pub workspace: String,
    /// `jobFile`.
    pub job_file: PathBuf,
    /// `overrides`: `dotted.path=value` lines.
    pub overrides: Vec<(String, String)>,
    /// `jobName`.
    pub job_name: Option<String>,
    /// `experimentName`.
    pub experiment_name: Option<String>,
    /// `wait`.
    pub wait: bool,
    /// `timeoutMinutes` (0: none).
    pub timeout_minutes: u32,
    /// `cancelOnTimeout`.
    pub cancel_on_timeout: bool,
    /// `streamLogs`.
    pub stream_logs: bool,
}

/// Errors of the train task.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// An input or the service connection is invalid.
    #[error(transparent)]
    Input(#[from] amlops_agent::AgentError),
    /// The job file does not exist.
    #[error("the job file '{0}' (input 'jobFile') does not exist; give the path of an az ml job YAML file")]
    JobFileMissing(PathBuf),
    /// The job YAML (or an override) is invalid.
    #[error("the job YAML cannot be used: {0}")]
    Spec(#[source] amlops_spec::SpecError),
    /// The HTTP client or credential could not be set up.
    #[error("{0}")]
    Setup(String),
    /// An Azure ML call failed.
    #[error("{context}: {source}")]
    Api {
        /// What the task was doing.
        context: String,
        /// The client's error.
        #[source]
        source: Box<AzureMlError>,
    },
    /// The job ended other than Completed.
    #[error("the Azure ML job '{job}' ended {status}: {message}. See it in Azure ML studio: {studio_url}")]
    JobFailed {
        /// The job.
        job: String,
        /// Its status.
        status: String,
        /// The job's error message.
        message: String,
        /// Its studio page.
        studio_url: String,
    },
    /// The wait reached `timeoutMinutes`.
    #[error(
        "the Azure ML job '{job}' did not finish within {minutes} minute(s) (input 'timeoutMinutes'); {action}. \
         See it in Azure ML studio: {studio_url}"
    )]
    TimedOut {
        /// The job.
        job: String,
        /// The timeout.
        minutes: u32,
        /// What was done about it.
        action: String,
        /// Its studio page.
        studio_url: String,
    },
    /// The pipeline cancelled the task; the job's cancellation was requested.
    #[error("the Azure ML job '{job}' was cancelled with the pipeline (last status {status})")]
    Canceled {
        /// The job.
        job: String,
        /// Its last known status.
        status: String,
        /// The marker the agent crate maps to Canceled.
        #[source]
        source: Canceled,
    },
    /// The job disappeared while being watched.
    #[error("the Azure ML job '{job}' no longer exists (deleted while the task was waiting for it)")]
    JobVanished {
        /// The job.
        job: String,
    },
    /// Every name of the resubmission chain holds a failed job.
    #[error(
        "the job '{base}' failed {max} times in earlier attempts of this stage; give a new name with the input \
         'jobName'"
    )]
    TooManyResubmissions {
        /// The base name.
        base: String,
        /// The chain's length.
        max: u32,
    },
    /// The lifecycle events could not be set up or delivered (with `failOnNotifyError`).
    #[error(transparent)]
    Events(#[from] amlops_events::EventsError),
}

impl TrainInputs {
    /// Read and validate the inputs.
    pub fn read(ctx: &TaskContext) -> Result<Self, TrainError> {
        let i = ctx.inputs();
        let connection = ctx.azure_rm_connection("azureSubscription")?;
        let resource_group = i.required_string("resourceGroup")?;
        let workspace = i.required_string("workspace")?;
        let job_file = i.required_file_path("jobFile")?;
        if !job_file.is_file() {
            return Err(TrainError::JobFileMissing(job_file));
        }
        let overrides = i.key_values("overrides")?;
        let timeout_minutes = i.int_or("timeoutMinutes", 0, 0, 60 * 24 * 30)? as u32;
        let job_name = i.string("jobName");
        if let Some(n) = &job_name
            && !naming::is_valid_job_name(n)
        {
            return Err(amlops_agent::AgentError::InvalidInput {
                name: "jobName".into(),
                value: n.clone(),
                expected:
                    "a job name must start with a letter or digit and hold at most 256 letters, digits, \
                           '_' or '-'"
                        .into(),
            }
            .into());
        }
        Ok(Self {
            connection,
            resource_group,
            workspace,
            job_file,
            overrides,
            job_name,
            experiment_name: i.string("experimentName"),
            wait: i.bool_or("wait", true),
            timeout_minutes,
            cancel_on_timeout: i.bool_or("cancelOnTimeout", true),
            stream_logs: i.bool_or("streamLogs", true),
        })
    }
}

/// The flow's timing: defaults, or a fixed poll interval from [`POLL_INTERVAL_VAR`] (honoured only under the test
/// harness).
pub fn settings_from_env(env: &TaskEnv) -> TrainSettings {
    let mut settings = TrainSettings::default();
    if let Some(interval) = amlops_agent::TestKnobs::from_env(env).poll_interval {
        settings.poll = PollConfig::fixed(interval);
    }
    settings
}

fn tenant(conn: &AzureRmConnection) -> Option<String> {
    match &conn.auth {
        AzureAuth::WorkloadIdentityFederation { tenant_id, .. }
        | AzureAuth::ServicePrincipalSecret { tenant_id, .. }
        | AzureAuth::ServicePrincipalCertificate { tenant_id, .. } => Some(tenant_id.clone()),
        _ => None,
    }
}

/// Run the task.
pub async fn run(ctx: TaskContext) -> Result<Outcome, TaskError> {
    let inputs = TrainInputs::read(&ctx)?;
    let settings = settings_from_env(&ctx.env);
    let conn = &inputs.connection;
    let subscription = conn.subscription_id.clone().ok_or_else(|| {
        TrainError::Setup(format!(
            "the service connection '{}' (input 'azureSubscription') is not scoped to a subscription",
            conn.id
        ))
    })?;
    ctx.output.line(&format!(
        "Job file {} for workspace {}/{}",
        inputs.job_file.display(),
        inputs.resource_group,
        inputs.workspace
    ));
    let client = amlops_azureml::connect(
        &ctx,
        conn,
        &inputs.resource_group,
        &inputs.workspace,
        ctx.cancel.clone(),
    )
    .map_err(|e| TrainError::Setup(e.to_string()))?;
    let cleanup = ClientJobApi::new(
        client.with_cancellation(CancellationToken::new()),
        conn.environment.clone(),
    );
    let api = ClientJobApi::new(client, conn.environment.clone());
    // If the task panics while it waits for the job, run_task cancels the job (the flow's own handling never ran).
    let panic_cancel = register_panic_cancel(&ctx, &cleanup, &settings.watched_job);
    let workspace = WorkspaceRef {
        environment: conn.environment.clone(),
        subscription: subscription.clone(),
        resource_group: inputs.resource_group.clone(),
        workspace: inputs.workspace.clone(),
        tenant: tenant(conn),
    };
    let events = Emitter::from_task(
        &ctx,
        WorkspaceInfo::arm(&subscription, &inputs.resource_group, &inputs.workspace),
    )
    .map_err(TrainError::Events)?;
    let result = Train {
        ctx: &ctx,
        inputs: &inputs,
        api: &api,
        cleanup: &cleanup,
        settings: &settings,
        workspace: &workspace,
        events: Some(&events),
    }
    .run()
    .await;
    panic_cancel.disarm();
    Ok(events.finish_after(result, TrainError::Events).await?)
}

/// Register the panic clean-up: cancel the job the flow is waiting for, if any.
pub fn register_panic_cancel(
    ctx: &TaskContext,
    cleanup: &ClientJobApi,
    watched: &crate::flow::WatchedJob,
) -> amlops_agent::CleanupGuard {
    use crate::api::JobApi;
    let api = cleanup.clone();
    let watched = watched.clone();
    ctx.cleanup
        .register("cancel the Azure ML job being waited for", move || async move {
            let Some(name) = watched.get() else {
                return Ok("no job was being waited for".to_string());
            };
            api.cancel_job(&name)
                .await
                .map(|()| format!("cancellation of the job '{name}' requested"))
                .map_err(|e| format!("cancelling the job '{name}' failed: {e}"))
        })
}
