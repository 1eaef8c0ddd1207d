//! Errors of the agent contract.

/// What went wrong reading the agent's environment or writing commands.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A required input is empty.
    #[error("the input '{name}' is required but was not given")]
    MissingInput {
        /// The input's name as task.json declares it.
        name: String,
    },
    /// An input has a value that cannot be used.
    #[error("the input '{name}' has the value '{value}', but {expected}")]
    InvalidInput {
        /// The input's name.
        name: String,
        /// The value given (never a secret).
        value: String,
        /// What the input accepts.
        expected: String,
    },
    /// A service connection is missing or incomplete.
    #[error("service connection '{id}' (input '{input}'): {problem}")]
    ServiceConnection {
        /// The input naming the connection.
        input: String,
        /// The endpoint id.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// A logging command that the agent would refuse.
    #[error("{0}")]
    InvalidCommand(String),
}

/// The task was cancelled by the pipeline (SIGINT/SIGTERM). Libraries put this in their error chain so the outcome
/// mapping reports Canceled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the task was cancelled")]
pub struct Canceled;
