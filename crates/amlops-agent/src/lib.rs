//! The Azure Pipelines agent contract for amlops tasks, in one place.
//!
//! - [`TaskEnv`]: the environment, read once ([`TaskEnv::from_process`]) or built from a map in tests.
//! - [`Inputs`]: typed `INPUT_<NAME>` getters.
//! - [`ServiceConnection`], [`AzureRmConnection`]: service connections and their schemes.
//! - [`PipelineContext`], [`NetworkSettings`]: the run and the agent's proxy/TLS settings.
//! - [`Output`]: the one writer; logging commands encoded exactly as the agent decodes them, plain text
//!   neutralised, secrets registered with `task.setsecret` and masked.
//! - [`OutputLayer`]: `tracing` events as log decorations.
//! - [`finish`], [`TaskResult`]: the outcome as `task.complete` and the exit code.
//! - [`cancel`]: SIGINT/SIGTERM as a cancellation token; [`run_task`] wires it all for a task's `main`.

pub mod cancel;
pub mod command;
pub mod connection;
pub mod context;
pub mod env;
pub mod error;
pub mod inputs;
pub mod knobs;
pub mod logging;
pub mod outcome;
pub mod output;
pub mod runtime;

pub use cancel::CancellationToken;
pub use cancel::{CleanupGuard, CleanupHooks};
pub use connection::{
    AzureAuth, AzureEnvironment, AzureRmConnection, ServiceConnection, system_access_token,
};
pub use context::{NetworkSettings, PipelineContext};
pub use env::TaskEnv;
pub use error::{AgentError, Canceled};
pub use inputs::Inputs;
pub use knobs::TestKnobs;
pub use logging::OutputLayer;
pub use outcome::{Outcome, TaskError, TaskResult, error_chain_message, finish, is_canceled};
pub use output::{CaptureBuffer, Issue, IssueKind, Output, VariableOptions};
pub use runtime::{TaskContext, TaskPanicked, run_guarded, run_task};
