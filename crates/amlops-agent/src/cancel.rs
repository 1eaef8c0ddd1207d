//! Cancellation: the agent sends SIGINT, then SIGTERM 7.5 s later, then kills 2.5 s after that (Windows: Ctrl-C,
//! Ctrl-Break). Both signals become one [`CancellationToken`] that every wait in the tasks observes.
//!
//! [`CleanupHooks`]: clean-up work a task registers while it holds something remote (a running job, changed
//! traffic) that [`crate::run_task`] runs if the task panics, so a bug never leaves a job running or a canary
//! split live.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
pub use tokio_util::sync::CancellationToken;

/// The agent's grace period between SIGINT and SIGTERM.
pub const AGENT_SIGINT_GRACE: Duration = Duration::from_millis(7_500);

/// The agent's grace period between SIGTERM and the kill.
pub const AGENT_SIGTERM_GRACE: Duration = Duration::from_millis(2_500);

/// From SIGINT to the kill: [`AGENT_SIGINT_GRACE`] + [`AGENT_SIGTERM_GRACE`].
pub const AGENT_KILL_AFTER: Duration = Duration::from_millis(10_000);

/// How long clean-up may take once the task is cancelled (or after a panic): the kill comes at
/// [`AGENT_KILL_AFTER`]; the last second is left to report the outcome (`task.complete`) and exit.
pub const CLEANUP_WINDOW: Duration = Duration::from_millis(9_000);

const _: () =
    assert!(AGENT_SIGINT_GRACE.as_millis() + AGENT_SIGTERM_GRACE.as_millis() == AGENT_KILL_AFTER.as_millis());
const _: () = assert!(CLEANUP_WINDOW.as_millis() < AGENT_KILL_AFTER.as_millis());

/// Listen for the agent's signals and cancel `token` on the first one. Must be called inside a tokio runtime.
/// Returns the name of the signal through `on_signal` so the task can log it.
pub fn cancel_on_signals(token: CancellationToken, on_signal: impl Fn(&'static str) + Send + 'static) {
    tokio::spawn(async move {
        let name = wait_for_signal().await;
        on_signal(name);
        token.cancel();
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    else {
        // Without signal handlers the agent's escalation still ends the process.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(windows)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::windows::{ctrl_break, ctrl_c};
    let (Ok(mut c), Ok(mut b)) = (ctrl_c(), ctrl_break()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = c.recv() => "Ctrl-C",
        _ = b.recv() => "Ctrl-Break",
    }
}

type Hook = Box<dyn FnOnce() -> BoxFuture<'static, Result<String, String>> + Send>;

struct Registered {
    id: u64,
    label: String,
    hook: Hook,
}

#[derive(Default)]
struct HookList {
    next: u64,
    hooks: Vec<Registered>,
}

/// Clean-up work run by [`crate::run_task`] when the task panics (the task's own code, which normally does the
/// clean-up, did not get to it). Cheap to clone; every clone shares the list.
///
/// A hook is registered with a label and a closure giving a future that returns a one-line description of what
/// it did (`Ok`) or why it could not (`Err`). It stays registered until its [`CleanupGuard`] is disarmed; a task
/// that ends normally (success or error) never runs its hooks. After a panic the hooks run newest first, together
/// bounded by [`CLEANUP_WINDOW`].
#[derive(Clone, Default)]
pub struct CleanupHooks {
    inner: Arc<Mutex<HookList>>,
}

impl std::fmt::Debug for CleanupHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let labels: Vec<String> = self.lock().hooks.iter().map(|h| h.label.clone()).collect();
        f.debug_struct("CleanupHooks").field("hooks", &labels).finish()
    }
}

/// The handle of a registered hook; [`CleanupGuard::disarm`] removes the hook. Dropping the guard leaves the hook
/// registered (a panic drops it too).
#[derive(Debug)]
#[must_use = "keep the guard to disarm the hook once the task has cleaned up itself"]
pub struct CleanupGuard {
    hooks: CleanupHooks,
    id: u64,
}

impl CleanupGuard {
    /// Remove the hook: the task has done (or no longer needs) this clean-up.
    pub fn disarm(self) {
        self.hooks.lock().hooks.retain(|h| h.id != self.id);
    }
}

impl CleanupHooks {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HookList> {
        // A panic while the lock is held cannot leave the list inconsistent (pushes and retains only).
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Register `hook` under `label` (shown in the log when it runs).
    pub fn register<F, Fut>(&self, label: impl Into<String>, hook: F) -> CleanupGuard
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        let mut list = self.lock();
        list.next += 1;
        let id = list.next;
        list.hooks.push(Registered {
            id,
            label: label.into(),
            hook: Box::new(move || Box::pin(hook())),
        });
        CleanupGuard {
            hooks: self.clone(),
            id,
        }
    }

    /// The labels of the registered hooks, oldest first.
    pub fn labels(&self) -> Vec<String> {
        self.lock().hooks.iter().map(|h| h.label.clone()).collect()
    }

    /// Run every registered hook (newest first) and empty the list; all of them together get at most `window`.
    /// Returns (label, outcome) per hook; a hook cut off by the window reports `Err`.
    pub async fn run_all(&self, window: Duration) -> Vec<(String, Result<String, String>)> {
        let hooks: Vec<Registered> = std::mem::take(&mut self.lock().hooks);
        let deadline = tokio::time::Instant::now() + window;
        let mut out = Vec::new();
        for h in hooks.into_iter().rev() {
            let fut = (h.hook)();
            let result = match tokio::time::timeout_at(deadline, fut).await {
                Ok(r) => r,
                Err(_) => Err(format!(
                    "not finished within the clean-up window of {:.1} s",
                    window.as_secs_f64()
                )),
            };
            out.push((h.label, result));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn hooks_run_newest_first_until_disarmed_and_within_the_window() {
        let hooks = CleanupHooks::new();
        let _a = hooks.register("first", || async { Ok("did a".to_string()) });
        let b = hooks.register("second", || async { Ok("did b".to_string()) });
        let _c = hooks.register("slow", || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok("never".to_string())
        });
        b.disarm();
        assert_eq!(hooks.labels(), vec!["first".to_string(), "slow".to_string()]);
        let start = tokio::time::Instant::now();
        let ran = hooks.run_all(Duration::from_secs(2)).await;
        assert_eq!(ran.len(), 2);
        assert_eq!(ran[0].0, "slow");
        assert!(ran[0].1.as_ref().unwrap_err().contains("2.0 s"), "{:?}", ran[0]);
        assert_eq!(ran[1], ("first".to_string(), Ok("did a".to_string())));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert!(hooks.labels().is_empty(), "run_all empties the list");
    }
}
