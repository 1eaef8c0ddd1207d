//! Errors of the events crate. None of them carries a webhook URL or key.

/// What can go wrong setting up or delivering events.
#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    /// A line of the `notify` input cannot be used.
    #[error("the input '{input}', line {line}: {problem}")]
    InvalidNotifyLine {
        /// The input's name.
        input: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong (never the URL itself).
        problem: String,
    },
    /// Another notification input cannot be used.
    #[error("the input '{input}': {problem}")]
    InvalidInput {
        /// The input's name.
        input: String,
        /// What is wrong.
        problem: String,
    },
    /// An Event Grid line without an access key needs an Entra token, but no token provider was given.
    #[error(
        "the input 'notify', line {line}: the Event Grid topic has no access key after its URL and this task \
         has no Azure credential to get an Entra token with; add the key after the URL, separated by a space"
    )]
    EventGridNeedsCredential {
        /// The 1-based line.
        line: usize,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client for notifications: {0}")]
    Client(String),
    /// One or more deliveries failed and `failOnNotifyError` is true.
    #[error("{count} notification(s) could not be delivered ({sinks}) and failOnNotifyError is true")]
    DeliveryFailed {
        /// How many deliveries failed.
        count: usize,
        /// The sinks, redacted to kind and host.
        sinks: String,
    },
}
