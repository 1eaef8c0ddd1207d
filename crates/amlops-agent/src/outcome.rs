//! A task's outcome, mapped to `task.complete` and the process exit code.

use std::process::ExitCode;

use crate::error::Canceled;
use crate::output::{Issue, Output};

/// The result a task reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskResult {
    /// Everything worked.
    Succeeded,
    /// Worked, with warnings (e.g. a gate in warn mode).
    SucceededWithIssues,
    /// Failed.
    Failed,
    /// Cancelled by the pipeline.
    Canceled,
}

impl TaskResult {
    /// The name the agent parses (case-sensitive).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskResult::Succeeded => "Succeeded",
            TaskResult::SucceededWithIssues => "SucceededWithIssues",
            TaskResult::Failed => "Failed",
            TaskResult::Canceled => "Canceled",
        }
    }

    /// The exit code: 0 for the two successes; non-zero (which the agent always reads as Failed, unless the job
    /// was cancelled) otherwise.
    pub fn exit_code(self) -> u8 {
        match self {
            TaskResult::Succeeded | TaskResult::SucceededWithIssues => 0,
            TaskResult::Failed => 1,
            TaskResult::Canceled => 2,
        }
    }
}

/// What a task returns when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Succeeded or SucceededWithIssues (Failed and Canceled come from errors).
    pub result: TaskResult,
    /// A one-line summary for `task.complete`.
    pub message: String,
}

impl Outcome {
    /// Succeeded with a message.
    pub fn succeeded(message: impl Into<String>) -> Self {
        Self {
            result: TaskResult::Succeeded,
            message: message.into(),
        }
    }

    /// SucceededWithIssues with a message.
    pub fn with_issues(message: impl Into<String>) -> Self {
        Self {
            result: TaskResult::SucceededWithIssues,
            message: message.into(),
        }
    }
}

/// A task's failure: the error and its chain of causes.
pub type TaskError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error's message with its causes, each once: `a: b: c`.
pub fn error_chain_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Whether the error, or any of its causes, is a cancellation.
pub fn is_canceled(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if e.is::<Canceled>() {
            return true;
        }
        current = e.source();
    }
    false
}

/// Report the outcome to the agent and give the exit code. A failure becomes an error issue plus
/// `task.complete result=Failed`; a cancellation `task.complete result=Canceled`; both exit non-zero.
pub fn finish(output: &Output, result: Result<Outcome, TaskError>) -> ExitCode {
    let (result, message) = match result {
        Ok(outcome) => (outcome.result, outcome.message),
        Err(error) => {
            let message = error_chain_message(error.as_ref());
            if is_canceled(error.as_ref()) {
                output.log_issue(&Issue::error(&message));
                (TaskResult::Canceled, message)
            } else {
                output.log_issue(&Issue::error(&message));
                (TaskResult::Failed, message)
            }
        }
    };
    output.complete(result, &message);
    ExitCode::from(result.exit_code())
}
