//! Running a task: snapshot, writer, tracing, cancellation, outcome. A task's `main` is one call to [`run_task`].
//!
//! A panic anywhere in the task's future is caught: it is reported as the task's error (with `task.complete
//! result=Failed`), and the task's registered [`CleanupHooks`] run first (cancel the remote job, restore traffic).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::sync::{Mutex, OnceLock};

use futures::FutureExt;
use tracing_subscriber::layer::SubscriberExt;

use crate::cancel::{CLEANUP_WINDOW, CancellationToken, CleanupHooks, cancel_on_signals};
use crate::connection::{AzureRmConnection, ServiceConnection};
use crate::context::{NetworkSettings, PipelineContext};
use crate::env::TaskEnv;
use crate::error::AgentError;
use crate::inputs::Inputs;
use crate::knobs::{TEST_HARNESS_VAR, TestKnobs};
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
    /// Clean-up run by [`run_task`] if the task panics.
    pub cleanup: CleanupHooks,
    /// Test-only knobs (honoured only under the test harness).
    pub knobs: TestKnobs,
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
        let knobs = TestKnobs::from_env(&env);
        Self {
            env,
            output,
            cancel,
            pipeline,
            network,
            cleanup: CleanupHooks::new(),
            knobs,
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

/// The message of the last panic, recorded by the hook [`run_task`] installs (instead of printing it to stderr).
fn last_panic() -> &'static Mutex<Option<String>> {
    static LAST: OnceLock<Mutex<Option<String>>> = OnceLock::new();
    LAST.get_or_init(|| Mutex::new(None))
}

fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = panic_text(info.payload());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = last_panic().lock() {
            *last = Some(format!("{message}{at}"));
        }
    }));
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// A panic inside the task, reported as its error.
#[derive(Debug, thiserror::Error)]
#[error(
    "internal error: the task panicked ({message}); this is a bug in amlops, please report it with this log. \
     Clean-up: {cleanup}"
)]
pub struct TaskPanicked {
    /// The panic's message and location.
    pub message: String,
    /// What the registered clean-up hooks did.
    pub cleanup: String,
}

/// Run `task` with `ctx`: a panic in it is caught, the context's [`CleanupHooks`] run (bounded by
/// [`CLEANUP_WINDOW`]), and the panic becomes a [`TaskPanicked`] error. Hooks do not run when the task returns.
pub async fn run_guarded<F, Fut>(ctx: TaskContext, task: F) -> Result<Outcome, TaskError>
where
    F: FnOnce(TaskContext) -> Fut,
    Fut: Future<Output = Result<Outcome, TaskError>>,
{
    let hooks = ctx.cleanup.clone();
    let output = ctx.output.clone();
    for knob in &ctx.knobs.ignored {
        output.warning(&format!(
            "{knob} is a test-only setting and is ignored (it applies only when the test harness sets \
             {TEST_HARNESS_VAR}=1)"
        ));
    }
    if ctx.knobs.harness() {
        output.warning(&format!(
            "{TEST_HARNESS_VAR} is set: test-only settings are honoured; never set it in a real pipeline"
        ));
    }
    match AssertUnwindSafe(task(ctx)).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => {
            let message = last_panic()
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_else(|| panic_text(payload.as_ref()));
            output.error(&format!("The task panicked: {message}"));
            let ran = hooks.run_all(CLEANUP_WINDOW).await;
            let mut done = Vec::new();
            for (label, result) in ran {
                match result {
                    Ok(what) => {
                        output.line(&format!("Clean-up after the panic ({label}): {what}"));
                        done.push(format!("{label}: {what}"));
                    }
                    Err(why) => {
                        output.error(&format!("Clean-up after the panic ({label}) failed: {why}"));
                        done.push(format!("{label} FAILED: {why}"));
                    }
                }
            }
            Err(Box::new(TaskPanicked {
                message,
                cleanup: if done.is_empty() {
                    "nothing was registered".into()
                } else {
                    done.join("; ")
                },
            }))
        }
    }
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
    record_panics();
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
        run_guarded(ctx, task).await
    });
    let code = finish(&output, result);
    // Do not wait for stray background work (e.g. a blocked stdin read) once the outcome is reported.
    runtime.shutdown_background();
    code
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;
    use crate::outcome::error_chain_message;

    fn context() -> (TaskContext, crate::output::CaptureBuffer) {
        let (output, buf) = Output::capture(false);
        let ctx = TaskContext::new(TaskEnv::default(), output, CancellationToken::new());
        (ctx, buf)
    }

    #[tokio::test]
    async fn a_panic_runs_the_cleanup_hooks_and_becomes_the_task_error() {
        let (ctx, buf) = context();
        let cancelled_job = Arc::new(AtomicBool::new(false));
        let flag = cancelled_job.clone();
        let err = run_guarded(ctx, |ctx| async move {
            let _guard = ctx
                .cleanup
                .register("cancel the Azure ML job 'j1'", move || async move {
                    flag.store(true, Ordering::SeqCst);
                    Ok("cancellation requested".to_string())
                });
            let values: Vec<u32> = Vec::new();
            let _ = values[usize::from(ctx.cancel.is_cancelled())];
            Ok(Outcome::succeeded("unreachable"))
        })
        .await
        .expect_err("the panic is an error");
        assert!(cancelled_job.load(Ordering::SeqCst), "the hook ran");
        let message = error_chain_message(err.as_ref());
        assert!(message.contains("internal error: the task panicked"), "{message}");
        assert!(message.contains("index out of bounds"), "{message}");
        assert!(
            message.contains("cancel the Azure ML job 'j1': cancellation requested"),
            "{message}"
        );
        assert!(buf.text().contains("The task panicked"), "{}", buf.text());
    }

    #[tokio::test]
    async fn hooks_do_not_run_when_the_task_returns() {
        let (ctx, _buf) = context();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let hooks = ctx.cleanup.clone();
        let r = run_guarded(ctx, |ctx| async move {
            let _guard = ctx.cleanup.register("restore traffic", move || async move {
                flag.store(true, Ordering::SeqCst);
                Ok(String::new())
            });
            Err::<Outcome, TaskError>("a plain failure".into())
        })
        .await;
        assert_eq!(r.unwrap_err().to_string(), "a plain failure");
        assert!(!ran.load(Ordering::SeqCst));
        assert_eq!(hooks.labels(), vec!["restore traffic".to_string()]);
    }

    #[tokio::test]
    async fn test_knobs_without_the_marker_are_named_in_a_warning() {
        let (output, buf) = Output::capture(false);
        let env = TaskEnv::from_map([("AMLOPS_POLL_INTERVAL_MS", "5")]);
        let ctx = TaskContext::new(env, output, CancellationToken::new());
        assert_eq!(ctx.knobs.poll_interval, None);
        let r = run_guarded(ctx, |_| async { Ok(Outcome::succeeded("ok")) }).await;
        assert!(r.is_ok());
        assert!(
            buf.text()
                .contains("AMLOPS_POLL_INTERVAL_MS is a test-only setting and is ignored"),
            "{}",
            buf.text()
        );
    }
}
