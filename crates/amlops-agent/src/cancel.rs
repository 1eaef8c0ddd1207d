//! Cancellation: the agent sends SIGINT, then SIGTERM 7.5 s later, then kills (Windows: Ctrl-C, Ctrl-Break).
//! Both become one [`CancellationToken`] that every wait in the tasks observes.

pub use tokio_util::sync::CancellationToken;

/// The agent's grace period between SIGINT and SIGTERM: cleanup must fit in it.
pub const AGENT_SIGINT_GRACE: std::time::Duration = std::time::Duration::from_millis(7_500);

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
