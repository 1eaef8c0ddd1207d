//! AzureMLDeploy@1: roll a model out to an Azure ML managed online endpoint (replace, blue/green or canary) with
//! smoke tests, an optional mirror phase and automatic rollback.
//!
//! - [`inputs`]: the inputs ([`inputs::Settings`]), validated before any call.
//! - [`traffic`]: the traffic planner (pure): the splits to PUT and the exact split to restore.
//! - [`smoke`]: the smoke-test request, expectation and checker.
//! - [`analysis`]: canary analysis: the `analysis` rules over Azure Monitor metrics during each step's wait.
//! - [`report`]: governance tags, the clean-up selection and the build summary.
//! - [`api`]: the operations the flow needs ([`api::DeployApi`]); [`client_api`] implements them with the client
//!   crate.
//! - [`flow`]: the rollout itself ([`flow::Deploy`]).
//! - [`restore`]: the split to restore, noted on the endpoint (tag `amlops.restoreTraffic`) before traffic changes,
//!   restored within the agent's grace window on failure or cancellation, and by `action: restoreTraffic`.
//! - [`collection`]: production data collection (`dataCollection`): the deployment's `dataCollector`.
//!
//! # Behaviour decisions
//!
//! - Every strategy smoke-tests the new deployment at 0% (pinned with `azureml-model-deployment`) before live
//!   traffic. `replace` then moves 100% in one PUT; `blueGreen` does the same and smoke-tests again at 100%;
//!   `canary` smoke-tests after each step and waits `stepWaitSeconds` between steps. With no other deployment
//!   holding traffic (a first deployment), every strategy goes straight to 100%.
//! - The mirror phase (`mirrorPercent`) lasts `stepWaitSeconds`, then mirroring to the new deployment stops as it
//!   takes live traffic.
//! - Before the first traffic change the endpoint gets the tags `amlops.restoreTraffic`/`amlops.restoreMirrorTraffic`
//!   (the split to restore); they are cleared after success or with the rollback's restore. An endpoint busy with
//!   another operation (409) is waited out by the client. The rollback waits for an operation in flight within the
//!   agent's grace window (9 s after a cancellation, 15 minutes after a failure); when the window cannot hold it,
//!   an error gives the split and the exact `az ml online-endpoint update` command, and the tags stay.
//! - Traffic is changed by GET + PUT of the endpoint (read-only fields left out). Rollback PUTs the exact split
//!   and mirror split read at the start, through a client that the task's cancellation does not stop, then
//!   deletes the new deployment when `deleteFailedDeployment` and the task created it (an existing deployment
//!   updated in place is never deleted; a warning says its previous version is not restored).
//! - An existing endpoint is never modified from `endpointFile` (only its traffic changes); a new one is created
//!   from the YAML with empty traffic.
//! - A deployment YAML may upload local code folders; local model paths and `@latest` references are refused
//!   before any call (register and pin the model first).
//!
//! `AMLOPS_POLL_INTERVAL_MS` (tests only, honoured only under the test harness, see [`amlops_agent::knobs`]): the
//! provisioning-state and LRO poll interval in milliseconds.

pub mod analysis;
pub mod api;
pub mod client_api;
pub mod collection;
pub mod flow;
pub mod inputs;
pub mod report;
pub mod restore;
pub mod smoke;
pub mod traffic;

use std::path::PathBuf;
use std::time::Duration;

use amlops_agent::{CancellationToken, Outcome, TaskContext, TaskError};
use amlops_azureml::{AzureMlError, ClientConfig};
use amlops_events::{Emitter, WorkspaceInfo};

use crate::client_api::ClientDeployApi;
use crate::flow::{Deploy, Timing, WorkspaceRef};
use crate::inputs::Settings;

/// The environment variable that fixes the poll intervals (tests only; see [`amlops_agent::knobs`]).
pub const POLL_INTERVAL_VAR: &str = amlops_agent::knobs::POLL_INTERVAL_VAR;

/// Errors of the deploy task.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// An input or the service connection is invalid.
    #[error(transparent)]
    Input(#[from] amlops_agent::AgentError),
    /// Inputs that contradict each other or are missing together.
    #[error("{0}")]
    Conflict(&'static str),
    /// A file named by an input does not exist.
    #[error("'{path}' (input '{input}') does not exist")]
    FileMissing {
        /// The input.
        input: String,
        /// The path.
        path: PathBuf,
    },
    /// A YAML file cannot be used.
    #[error("the YAML of input '{input}' cannot be used: {source}")]
    Spec {
        /// The input.
        input: String,
        /// The spec crate's error (file, line, field).
        #[source]
        source: Box<amlops_spec::SpecError>,
    },
    /// The deployment YAML names a local model (or other non-code) path, which this task does not upload.
    #[error(
        "the deployment YAML '{file}' (input 'deploymentFile') names the local path '{path}'; only local code \
         folders are uploaded by this task: register the model first (AzureMLRegister) and reference it as \
         azureml:<name>:<version>"
    )]
    LocalPath {
        /// The YAML file.
        file: PathBuf,
        /// The local path in it.
        path: String,
    },
    /// The deployment YAML uses `@latest`, which a release must not.
    #[error(
        "the deployment YAML '{file}' (input 'deploymentFile') references {reference}; pin a version so the \
         rollout is reproducible"
    )]
    Latest {
        /// The YAML file.
        file: PathBuf,
        /// The reference.
        reference: String,
    },
    /// The smoke-test inputs cannot be used.
    #[error(transparent)]
    Smoke(#[from] smoke::SmokeInputError),
    /// The HTTP client, credential or a request could not be set up.
    #[error("{0}")]
    Setup(String),
    /// An Azure ML call failed before the rollout.
    #[error("{context}: {source}")]
    Api {
        /// What the task was doing.
        context: String,
        /// The client's error.
        #[source]
        source: Box<AzureMlError>,
    },
    /// The new deployment did not provision (its logs were printed).
    #[error(
        "the deployment '{deployment}' of endpoint '{endpoint}' failed to provision (its container logs are printed \
         above): {source}"
    )]
    ProvisioningFailed {
        /// The endpoint.
        endpoint: String,
        /// The deployment.
        deployment: String,
        /// The client's error.
        #[source]
        source: Box<AzureMlError>,
    },
    /// The rollout stopped (failure, timeout or cancellation) and was rolled back.
    #[error("the rollout of '{deployment}' failed: {reason}; {actions}")]
    RolledBack {
        /// The deployment.
        deployment: String,
        /// Why it stopped.
        reason: String,
        /// What the rollback did.
        actions: String,
        /// [`amlops_agent::Canceled`] when cancelled, else the client's error if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The lifecycle events could not be set up or delivered (with `failOnNotifyError`).
    #[error(transparent)]
    Events(#[from] amlops_events::EventsError),
}

/// The flow's timing: defaults, or a fixed interval from [`POLL_INTERVAL_VAR`] (honoured only under the test
/// harness).
pub fn timing_from_env(env: &amlops_agent::TaskEnv) -> Option<Duration> {
    amlops_agent::TestKnobs::from_env(env).poll_interval
}

/// Run the task.
pub async fn run(ctx: TaskContext) -> Result<Outcome, TaskError> {
    if inputs::Action::read(&ctx.inputs())? == inputs::Action::RestoreTraffic {
        return restore::run_restore(&ctx).await;
    }
    let settings = Settings::read(&ctx.inputs())?;
    let conn = ctx.azure_rm_connection("azureSubscription")?;
    let mut config =
        ClientConfig::from_connection(&conn, None, &settings.resource_group, &settings.workspace)
            .map_err(|e| DeployError::Setup(e.to_string()))?;
    let mut timing = Timing::default();
    if let Some(poll) = ctx.knobs.poll_interval {
        timing.poll = poll;
        restore::fast_polling(&mut config, poll);
    }
    let client = amlops_azureml::connect_with(&ctx, &conn, config.clone(), ctx.cancel.clone())
        .map_err(|e| DeployError::Setup(e.to_string()))?;
    let cleanup = ClientDeployApi::new(client.with_cancellation(CancellationToken::new()));
    // If the task panics, run_task restores the split the endpoint notes (the flow's own rollback never ran).
    let panic_restore = restore::register_panic_restore(&ctx, &cleanup, settings.endpoint.name());
    let api = ClientDeployApi::new(client);
    let workspace = WorkspaceRef {
        subscription: config.subscription_id.clone(),
        resource_group: settings.resource_group.clone(),
        workspace: settings.workspace.clone(),
    };
    let events = Emitter::from_task(
        &ctx,
        WorkspaceInfo {
            name: settings.workspace.clone(),
            resource_group: Some(settings.resource_group.clone()),
            subscription_id: Some(config.subscription_id.clone()),
            location: None,
            id: Some(api.workspace_id_string()),
        },
    )
    .map_err(DeployError::Events)?;
    let result = Deploy {
        out: &ctx.output,
        pipeline: &ctx.pipeline,
        cancel: &ctx.cancel,
        settings: &settings,
        api: &api,
        cleanup: &cleanup,
        timing: &timing,
        workspace: &workspace,
        events: Some(&events),
    }
    .run()
    .await;
    panic_restore.disarm();
    Ok(events.finish_after(result, DeployError::Events).await?)
}
