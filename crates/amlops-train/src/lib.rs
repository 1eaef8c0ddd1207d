//! AzureMLTrain@1: submit an `az ml` job YAML to Azure Machine Learning, stream its logs, wait, cancel on
//! cancellation, re-attach on re-runs, and publish its metrics.
//!
//! This build validates the inputs and the service connection; submission arrives with the train issue.

use std::path::PathBuf;

use amlops_agent::{AzureRmConnection, Outcome, TaskContext, TaskError};

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
    /// Not available in this build.
    #[error(
        "job submission is not available in this build of amlops-train (inputs and connection are valid)"
    )]
    NotAvailable,
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
        Ok(Self {
            connection,
            resource_group,
            workspace,
            job_file,
            overrides,
            job_name: i.string("jobName"),
            experiment_name: i.string("experimentName"),
            wait: i.bool_or("wait", true),
            timeout_minutes,
            cancel_on_timeout: i.bool_or("cancelOnTimeout", true),
            stream_logs: i.bool_or("streamLogs", true),
        })
    }
}

/// Run the task.
pub async fn run(ctx: TaskContext) -> Result<Outcome, TaskError> {
    let inputs = TrainInputs::read(&ctx)?;
    ctx.output.line(&format!(
        "Job file {} for workspace {}/{}",
        inputs.job_file.display(),
        inputs.resource_group,
        inputs.workspace
    ));
    Err(TrainError::NotAvailable.into())
}
