//! Libraries log with `tracing`; the layer writes decorations through the one writer.

use amlops_agent::{Output, OutputLayer};
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn events_become_decorations_and_are_masked() {
    let (output, buffer) = Output::capture(false);
    output.register_secret("tok-abcdef");
    let subscriber = tracing_subscriber::registry().with(OutputLayer::new(output));
    tracing::subscriber::with_default(subscriber, || {
        tracing::error!(target: "amlops_azureml", status = 403, "denied with tok-abcdef");
        tracing::warn!(target: "amlops_train", "slow");
        tracing::info!(target: "amlops_train", "Job j1 is Running");
        tracing::info!(target: "hyper", "connection chatter");
        tracing::debug!(target: "amlops_train", "hidden without system.debug");
    });
    let lines: Vec<String> = buffer.text().lines().skip(1).map(str::to_string).collect();
    assert_eq!(
        lines,
        [
            "##[error]denied with *** status=403",
            "##[warning]slow",
            "Job j1 is Running"
        ]
    );
}

#[test]
fn debug_events_only_with_system_debug() {
    let (output, buffer) = Output::capture(true);
    let subscriber = tracing_subscriber::registry().with(OutputLayer::new(output));
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!(target: "amlops_azureml", "GET /jobs/j1");
        tracing::debug!(target: "reqwest", "not ours");
    });
    assert_eq!(buffer.text(), "##[debug]GET /jobs/j1\n");
}
