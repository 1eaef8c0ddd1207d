//! Configuration of a local workspace.

use std::path::PathBuf;
use std::time::Duration;

/// Subscription id served when none is given.
pub const DEFAULT_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
/// Resource group served when none is given.
pub const DEFAULT_RESOURCE_GROUP: &str = "local";
/// Workspace served when none is given.
pub const DEFAULT_WORKSPACE: &str = "local";
/// Region reported for the workspace and used in operation-status URLs.
pub const DEFAULT_LOCATION: &str = "local";

/// Everything [`crate::LocalWorkspace::start`] needs.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// Directory holding the persisted state (JSON records and blobs). Created when missing.
    pub state_dir: PathBuf,
    /// TCP port on 127.0.0.1; `0` picks a free one.
    pub port: u16,
    /// Subscription id of the single workspace served.
    pub subscription_id: String,
    /// Resource group of the single workspace served.
    pub resource_group: String,
    /// Name of the single workspace served.
    pub workspace: String,
    /// Region name reported as `location`.
    pub location: String,
    /// The Python interpreter jobs and scoring scripts run on (`python` in job commands maps to it too).
    pub python: PathBuf,
    /// Delays and timeouts.
    pub timing: Timing,
    /// Folders besides the state directory that jobs and deployments may name as local paths (`file://` or
    /// absolute inputs, outputs, code and model URIs). Empty by default: only the state directory.
    pub allowed_dirs: Vec<PathBuf>,
    /// The environment job and scoring processes start from, always filtered by
    /// [`amlops_agent::TaskEnv::child_env`] (no `ENDPOINT_AUTH_*`, `SYSTEM_ACCESSTOKEN`, secret variables,
    /// inputs). `None`: this process's environment.
    pub parent_env: Option<amlops_agent::TaskEnv>,
}

impl LocalConfig {
    /// Defaults: port 0, the default subscription/resource group/workspace, `python3`, [`Timing::default`].
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            port: 0,
            subscription_id: DEFAULT_SUBSCRIPTION.to_owned(),
            resource_group: DEFAULT_RESOURCE_GROUP.to_owned(),
            workspace: DEFAULT_WORKSPACE.to_owned(),
            location: DEFAULT_LOCATION.to_owned(),
            python: PathBuf::from("python3"),
            timing: Timing::default(),
            allowed_dirs: Vec::new(),
            parent_env: None,
        }
    }
}

/// Delays and timeouts. Nothing in the server waits on the wall clock except where these say so, so tests
/// use [`Timing::immediate`].
#[derive(Debug, Clone)]
pub struct Timing {
    /// Value of the `Retry-After` header on long-running operations (whole seconds are sent).
    pub retry_after: Duration,
    /// Time an endpoint, deployment or schedule stays `Creating`/`Updating` before provisioning starts.
    pub provisioning_delay: Duration,
    /// Time a job stays `Queued` before its process starts.
    pub job_start_delay: Duration,
    /// Grace period between SIGTERM and SIGKILL when a job or scoring process is stopped.
    pub kill_grace: Duration,
    /// Longest wait for a scoring script's `init()` before the deployment fails.
    pub deployment_ready_timeout: Duration,
    /// Longest wait for one scoring request.
    pub scoring_timeout: Duration,
    /// Items per page of list responses (`nextLink` carries the rest).
    pub page_size: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            retry_after: Duration::from_secs(1),
            provisioning_delay: Duration::from_secs(1),
            job_start_delay: Duration::from_secs(1),
            kill_grace: Duration::from_secs(5),
            deployment_ready_timeout: Duration::from_secs(300),
            scoring_timeout: Duration::from_secs(90),
            page_size: 100,
        }
    }
}

impl Timing {
    /// No artificial delays: `Retry-After: 0`, provisioning and job start right away. For tests.
    pub fn immediate() -> Self {
        Self {
            retry_after: Duration::ZERO,
            provisioning_delay: Duration::ZERO,
            job_start_delay: Duration::ZERO,
            kill_grace: Duration::from_secs(2),
            ..Self::default()
        }
    }
}
