//! Errors of the register task.

use std::path::PathBuf;

use amlops_azureml::AzureMlError;

/// What can stop a registration.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// An input or the service connection is invalid.
    #[error(transparent)]
    Input(#[from] amlops_agent::AgentError),
    /// Inputs that do not go together.
    #[error("{0}")]
    Conflict(String),
    /// A local path does not exist.
    #[error("the path '{}' (input '{input}') does not exist", path.display())]
    PathMissing {
        /// The input.
        input: String,
        /// The path, resolved.
        path: PathBuf,
    },
    /// An mlflow_model that is not a folder with an `MLmodel` file.
    #[error("the mlflow_model path '{}' {problem}", path.display())]
    MlflowModel {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The asset YAML is invalid.
    #[error("the asset YAML cannot be used: {0}")]
    Spec(#[source] amlops_spec::SpecError),
    /// The asset YAML is not a model, environment, component or data asset.
    #[error(
        "'{}' (input 'assetFile') is a {kind} YAML; AzureMLRegister registers model, environment, component and \
         data assets",
        file.display()
    )]
    UnsupportedKind {
        /// The file.
        file: PathBuf,
        /// Its kind.
        kind: String,
    },
    /// The requested version exists and was not created by this step of this run.
    #[error(
        "{collection} '{name}' version '{version}' already exists{by}; versions are immutable: give another \
         'version' or leave it empty for the next free one"
    )]
    VersionExists {
        /// `models`, `environments`...
        collection: String,
        /// The name.
        name: String,
        /// The version.
        version: String,
        /// ` (registered by build 12)` or empty.
        by: String,
    },
    /// The HTTP client or credential could not be set up.
    #[error("{0}")]
    Setup(String),
    /// An Azure ML call failed.
    #[error("{context}: {source}")]
    Api {
        /// What the task was doing.
        context: String,
        /// The client's error.
        #[source]
        source: Box<AzureMlError>,
    },
    /// Writing the build summary failed.
    #[error("cannot write the build summary '{}': {source}", path.display())]
    Summary {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The lifecycle events could not be set up or delivered (with `failOnNotifyError`).
    #[error(transparent)]
    Events(#[from] amlops_events::EventsError),
}

/// Wrap a client error with what the task was doing.
pub fn api_err(context: impl Into<String>) -> impl FnOnce(AzureMlError) -> RegisterError {
    let context = context.into();
    move |source| RegisterError::Api {
        context,
        source: Box::new(source),
    }
}
