//! The embedded local workspace: a loopback emulator of the Azure ML REST surface that runs jobs as local
//! processes.
//!
//! [`LocalWorkspace::start`] serves one workspace on `http://127.0.0.1:{port}`:
//! - ARM: `{base}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}`
//!   (workspace, datastores, codes, models, environments, components, data, jobs, online endpoints and
//!   deployments, schedules, operation-status URLs), `api-version` required as on Azure;
//! - Azure Monitor metrics of online endpoints and deployments (`.../providers/Microsoft.Insights/metrics`),
//!   computed from the scoring calls served (see `metrics.rs`);
//! - the discovery document at `{base}/discovery` whose `api` is `{base}`, run history under
//!   `{base}/history/v1.0{scope}`, MLflow under `{base}/mlflow/v2.0{scope}` (and `v1.0`);
//! - blob storage, path-style, at `{base}/amlopslocal/{container}/{blob}` (with a SAS it signed, or the token);
//! - scoring at `{base}/endpoints/{endpoint}/score`.
//!
//! Every route but scoring requires the token [`LocalWorkspace::token`] (or a URL the server signed), and only the
//! server's own `Host` is answered (see `auth.rs` and `docs/security.md`).
//!
//! State persists under [`LocalConfig::state_dir`]. See `docs/local-workspace.md`.

mod app;
mod arm;
mod auth;
mod blob;
mod collector;
mod config;
mod error;
mod jobs;
mod metrics;
mod mlflow;
mod scoring;
mod server;
mod store;
mod uri;
mod util;

pub use blob::{ACCOUNT as BLOB_ACCOUNT, DEFAULT_CONTAINER};
pub use config::{
    DEFAULT_LOCATION, DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION, DEFAULT_WORKSPACE, LocalConfig, Timing,
};
pub use error::LocalError;
pub use server::LocalWorkspace;
