//! [`connect`]: a ready client for a task (HTTP client, credential, secrets, workspace).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use amlops_agent::{AzureRmConnection, CancellationToken, TaskContext};

use crate::client::{AzureMlClient, ClientConfig};
use crate::credential::{PipelineIdentity, credential_for_connection};
use crate::error::AzureMlError;
use crate::http::{SecretSink, build_client, is_loopback, parse_checked_url};

/// The client of a task for `resource_group`/`workspace` through `conn` (its subscription), observing `cancel`.
/// See [`connect_with`].
pub fn connect(
    ctx: &TaskContext,
    conn: &AzureRmConnection,
    resource_group: &str,
    workspace: &str,
    cancel: CancellationToken,
) -> Result<AzureMlClient, AzureMlError> {
    let config = ClientConfig::from_connection(conn, None, resource_group, workspace)?;
    connect_with(ctx, conn, config, cancel)
}

/// The client of a task with a prepared `config` (e.g. [`ClientConfig::from_connection`] with other poll
/// settings): the agent's proxy and CA settings ([`build_client`]), the connection's credential (the pipeline's
/// OIDC and system token from `ctx`), every secret registered through `ctx.output.register_secret`. Against a
/// loopback ARM URL (the local workspace, tests) blobs are addressed path-style on the same server
/// (`{arm}/{account}/{container}`) unless `config` names another override.
pub fn connect_with(
    ctx: &TaskContext,
    conn: &AzureRmConnection,
    mut config: ClientConfig,
    cancel: CancellationToken,
) -> Result<AzureMlClient, AzureMlError> {
    const OP: &str = "client";
    let http = build_client(&ctx.network)
        .map_err(|e| AzureMlError::invalid_input(OP, format!("cannot set up the HTTP client: {e}")))?;
    if config.blob_endpoint_override.is_none()
        && let Ok(url) = parse_checked_url(&config.resource_manager_url)
        && is_loopback(&url)
    {
        config.blob_endpoint_override = Some(config.resource_manager_url.trim_end_matches('/').to_string());
    }
    if config.code_repository.is_none() {
        config.code_repository = code_repository(ctx);
    }
    let out = ctx.output.clone();
    let secrets: SecretSink = Arc::new(move |s: &str| out.register_secret(s));
    let identity = PipelineIdentity {
        oidc_request_uri: ctx.pipeline.oidc_request_uri.clone(),
        system_access_token: amlops_agent::system_access_token(&ctx.env),
    };
    let credential = credential_for_connection(conn, &identity, &http, &config.retry, secrets.clone())?;
    AzureMlClient::new(http, config, credential, secrets, cancel)
}

/// The task input that lets code and `additional_includes` come from outside the repository.
pub const ALLOW_OUTSIDE_REPOSITORY_INPUT: &str = "allowPathsOutsideRepository";

/// The folder code uploads must stay in ([`crate::walk::confine`]): `Build.SourcesDirectory` on an agent (else
/// `Build.Repository.LocalPath`); outside an agent, the git repository holding the job file (`jobFile`,
/// `assetFile` or `deploymentFile`, else the working directory). `None` (no confinement) when the task input
/// [`ALLOW_OUTSIDE_REPOSITORY_INPUT`] is true, or outside an agent when that folder is in no git repository (no
/// pull request's files are involved then: the user runs their own).
pub fn code_repository(ctx: &TaskContext) -> Option<PathBuf> {
    let inputs = ctx.inputs();
    if inputs.bool_or(ALLOW_OUTSIDE_REPOSITORY_INPUT, false) {
        return None;
    }
    for var in ["BUILD_SOURCESDIRECTORY", "BUILD_REPOSITORY_LOCALPATH"] {
        if let Some(dir) = ctx.env.get_nonempty(var) {
            return Some(PathBuf::from(dir));
        }
    }
    let start = ["jobFile", "assetFile", "deploymentFile"]
        .iter()
        .filter_map(|name| inputs.file_path(name))
        .find_map(|file| file.parent().map(Path::to_path_buf))
        .or_else(|| {
            ctx.env
                .get_nonempty("SYSTEM_DEFAULTWORKINGDIRECTORY")
                .map(PathBuf::from)
        })
        .or_else(|| std::env::current_dir().ok())?;
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
