//! Running a task: snapshot, writer, tracing, cancellation, outcome. A task's `main` is one call to [`run_task`].

use std::future::Future;
use std::process::ExitCode;

use tracing_subscriber::layer::SubscriberExt;

use crate::cancel::{CancellationToken, cancel_on_signals};
use crate::connection::{AzureRmConnection, ServiceConnection};
use crate::context::{NetworkSettings, PipelineContext};
use crate::env::TaskEnv;
use crate::error::AgentError;
use crate::inputs::Inputs;
use crate::outcome::{Outcome, TaskError, finish};
use crate::output::Output;

/// Everything a task needs from the agent.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The environment snapshot.
    pub env: TaskEnv,
    /// The output writer.
    pub output: Output,
    /// Cancelled when the agent signals.
    pub cancel: CancellationToken,
    /// The pipeline run.
    pub pipeline: PipelineContext,
    /// Proxy and TLS settings.
    pub network: NetworkSettings,
}

impl TaskContext {
    /// A context over `env` writing to `output` (tests build one this way).
    pub fn new(env: TaskEnv, output: Output, cancel: CancellationToken) -> Self {
        let pipeline = PipelineContext::from_env(&env);
        let network = NetworkSettings::from_env(&env);
        if let Some(password) = &network.proxy_password {
            output.register_secret(password);
        }
        if let Some(token) = crate::connection::system_access_token(&env) {
            output.register_secret(&token);
        }
        Self {
            env,
            output,
            cancel,
            pipeline,
            network,
        }
    }

    /// The task's inputs.
    pub fn inputs(&self) -> Inputs<'_> {
        Inputs::new(&self.env)
    }

    /// The AzureRM connection named by the connectedService input `input`; its secrets are registered before
    /// anything could print them.
    pub fn azure_rm_connection(&self, input: &str) -> Result<AzureRmConnection, AgentError> {
        let id = self.inputs().required_string(input)?;
        let id = id.split(',').next().unwrap_or("").trim().to_string();
        let raw = ServiceConnection::from_env(&self.env, input, &id)?;
        for value in raw.parameters.values() {
            // Every authorisation parameter other than ids is sensitive.
            if value.len() >= 8 && !looks_like_id(value) {
                self.output.register_secret(value);
            }
        }
        let conn = AzureRmConnection::from_connection(&raw, input)?;
        for secret in conn.secrets() {
            self.output.register_secret(secret);
        }
        Ok(conn)
    }
}

fn looks_like_id(value: &str) -> bool {
    value.len() == 36 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        || matches!(value.to_ascii_lowercase().as_str(), "spnkey" | "spncertificate")
}

/// Run a task: take the environment snapshot, set up the writer, tracing and signal handling, run `task` on a
/// tokio runtime, and map its outcome to `task.complete` and the exit code.
pub fn run_task<F, Fut>(task: F) -> ExitCode
where
    F: FnOnce(TaskContext) -> Fut,
    Fut: Future<Output = Result<Outcome, TaskError>>,
{
    let env = TaskEnv::from_process();
    let output = Output::stdout(env.debug());
    let subscriber = tracing_subscriber::registry().with(crate::logging::OutputLayer::new(output.clone()));
    let _ = tracing::subscriber::set_global_default(subscriber);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return finish(&output, Err(Box::new(e))),
    };
    let cancel = CancellationToken::new();
    let ctx = TaskContext::new(env, output.clone(), cancel.clone());
    let result = runtime.block_on(async move {
        let out = ctx.output.clone();
        cancel_on_signals(cancel, move |signal| {
            out.warning(&format!(
                "{signal} received: cancelling (the agent allows about 7 seconds to clean up)"
            ));
        });
        task(ctx).await
    });
    let code = finish(&output, result);
    // Do not wait for stray background work (e.g. a blocked stdin read) once the outcome is reported.
    runtime.shutdown_background();
    code
}
