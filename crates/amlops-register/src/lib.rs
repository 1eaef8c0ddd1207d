//! AzureMLRegister@1: register a model (or an environment, component or data asset from an `az ml` YAML) in
//! Azure Machine Learning with a governance record, idempotently.
//!
//! - [`inputs`]: the inputs (names as in task.json), validated before anything touches the workspace
//!   ([`inputs::RegisterInputs`], [`inputs::parse_model_path`], the mlflow_model check).
//! - [`governance`]: the record written as version properties (stable `amlops.*` keys) and the idempotency key.
//! - [`api`]: the operations the flow needs ([`api::RegisterApi`]); [`client_api`] implements them with the
//!   client crate.
//! - [`flow`]: the flow ([`flow::Register`]): idempotency check, version choice, uploads, metrics, PUT.
//! - [`summary`]: the build summary.
//!
//! Outputs: `assetName`, `assetVersion`, `assetId` (ARM id), and for models `modelName`, `modelVersion`,
//! `modelId` (ARM id) and `modelUri` (`azureml:<name>:<version>`).
//!
//! Against a loopback ARM URL (the local workspace, tests) blobs are addressed path-style on the same server:
//! `{arm}/{account}/{container}/{blob}`.

pub mod api;
pub mod client_api;
pub mod error;
pub mod flow;
pub mod governance;
pub mod inputs;
pub mod summary;

use std::path::PathBuf;

use amlops_agent::{AzureRmConnection, Outcome, TaskContext, TaskError};
use amlops_events::{AssetKind, AssetRef, Emitter, Event, WorkspaceInfo};
use amlops_spec::{AssetType, Scope};
use time::OffsetDateTime;

use crate::client_api::ClientRegisterApi;
pub use crate::error::RegisterError;
use crate::flow::{Register, Registered};
use crate::inputs::RegisterInputs;

/// The event asset kind of an asset type.
pub fn asset_kind(asset: AssetType) -> AssetKind {
    match asset {
        AssetType::Model => AssetKind::Model,
        AssetType::Environment => AssetKind::Environment,
        AssetType::Component => AssetKind::Component,
        AssetType::Data => AssetKind::Data,
        AssetType::Code => AssetKind::Unknown("code".into()),
    }
}

/// A word for people (`model`, `data asset`).
pub fn asset_label(asset: AssetType) -> &'static str {
    match asset {
        AssetType::Model => "model",
        AssetType::Environment => "environment",
        AssetType::Component => "component",
        AssetType::Data => "data asset",
        AssetType::Code => "code",
    }
}

/// Set the output variables of a registration.
pub fn set_outputs(output: &amlops_agent::Output, r: &Registered) {
    output.set_output("assetName", &r.name);
    output.set_output("assetVersion", &r.version);
    output.set_output("assetId", &r.id);
    if r.asset == AssetType::Model {
        output.set_output("modelName", &r.name);
        output.set_output("modelVersion", &r.version);
        output.set_output("modelId", &r.id);
        output.set_output("modelUri", &format!("azureml:{}:{}", r.name, r.version));
    }
}

fn write_summary(ctx: &TaskContext, r: &Registered) -> Result<PathBuf, RegisterError> {
    let stamp = OffsetDateTime::now_utc().unix_timestamp_nanos();
    let dir = ctx
        .pipeline
        .temp_dir()
        .join(format!("amlops-register-{}-{stamp}", std::process::id()));
    let path = dir.join("Azure ML registration.md");
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, summary::markdown(r)))
        .map_err(|source| RegisterError::Summary {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

async fn register(
    ctx: &TaskContext,
    conn: &AzureRmConnection,
    inputs: &RegisterInputs,
    subscription: &str,
) -> Result<Registered, RegisterError> {
    let client = amlops_azureml::connect(
        ctx,
        conn,
        &inputs.resource_group,
        &inputs.workspace,
        ctx.cancel.clone(),
    )
    .map_err(|e| RegisterError::Setup(e.to_string()))?;
    let api = ClientRegisterApi::new(client);
    Register {
        output: &ctx.output,
        pipeline: &ctx.pipeline,
        inputs,
        api: &api,
        scope: Scope {
            subscription: subscription.to_string(),
            resource_group: inputs.resource_group.clone(),
            workspace: inputs.workspace.clone(),
            location: String::new(),
        },
        now: OffsetDateTime::now_utc(),
    }
    .run()
    .await
}

/// Run the task.
pub async fn run(ctx: TaskContext) -> Result<Outcome, TaskError> {
    // The connection first: its secrets are registered before anything else could print them.
    let conn = ctx.azure_rm_connection("azureSubscription")?;
    let subscription = inputs::subscription(&conn)?;
    let inputs = RegisterInputs::read(&ctx)?;
    let events = Emitter::from_task(
        &ctx,
        WorkspaceInfo::arm(&subscription, &inputs.resource_group, &inputs.workspace),
    )
    .map_err(RegisterError::Events)?;
    let result = register(&ctx, &conn, &inputs, &subscription).await;
    let registered = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = events.finish().await;
            return Err(e.into());
        }
    };
    set_outputs(&ctx.output, &registered);
    let mut issues = registered.warnings.len();
    match write_summary(&ctx, &registered) {
        Ok(summary) => ctx.output.upload_summary(&summary),
        Err(e) => {
            ctx.output.log_issue(&amlops_agent::Issue::warning(e.to_string()));
            issues += 1;
        }
    }
    let event = Event::model_registered(
        AssetRef::new(asset_kind(registered.asset), &registered.name)
            .with_version(&registered.version)
            .with_id(&registered.id),
    )
    .metrics(registered.metrics.clone())
    .detail("reused", registered.reused)
    .detail("reason", registered.record.reason.clone());
    let event = match &registered.source_job {
        Some(job) => event.asset(AssetRef::job(job)),
        None => event,
    };
    events.emit(event).await;
    events.finish().await.map_err(RegisterError::Events)?;
    let what = format!(
        "{} '{}' version '{}'",
        asset_label(registered.asset),
        registered.name,
        registered.version
    );
    let message = if registered.reused {
        format!("{what} was already registered by this step; reused it")
    } else {
        format!("registered {what}")
    };
    Ok(if issues == 0 {
        Outcome::succeeded(message)
    } else {
        Outcome::with_issues(message)
    })
}
