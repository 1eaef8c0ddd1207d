//! The lifecycle events the tasks emit, and what each one is about.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

/// The prefix of every CloudEvents `type` amlops emits.
pub const TYPE_PREFIX: &str = "com.amlops.";

/// The nine lifecycle event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// A training or pipeline job finished successfully.
    JobCompleted,
    /// A job failed.
    JobFailed,
    /// A job was cancelled.
    JobCanceled,
    /// An asset (model, data, environment, component) was registered.
    ModelRegistered,
    /// A model was deployed to an endpoint.
    ModelDeployed,
    /// A deployment was rolled back.
    DeploymentRolledBack,
    /// Data drift was detected.
    DriftDetected,
    /// A promotion gate passed.
    GatePassed,
    /// A promotion gate failed.
    GateFailed,
}

impl EventType {
    /// Every event type, in lifecycle order.
    pub const ALL: [EventType; 9] = [
        EventType::JobCompleted,
        EventType::JobFailed,
        EventType::JobCanceled,
        EventType::ModelRegistered,
        EventType::ModelDeployed,
        EventType::DeploymentRolledBack,
        EventType::DriftDetected,
        EventType::GatePassed,
        EventType::GateFailed,
    ];

    /// The short name used in `notifyOn` and in the governance record (`model.registered`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::JobCompleted => "job.completed",
            EventType::JobFailed => "job.failed",
            EventType::JobCanceled => "job.canceled",
            EventType::ModelRegistered => "model.registered",
            EventType::ModelDeployed => "model.deployed",
            EventType::DeploymentRolledBack => "deployment.rolledBack",
            EventType::DriftDetected => "drift.detected",
            EventType::GatePassed => "gate.passed",
            EventType::GateFailed => "gate.failed",
        }
    }

    /// The CloudEvents `type` (`com.amlops.model.registered`).
    pub fn cloud_event_type(self) -> String {
        format!("{TYPE_PREFIX}{}", self.as_str())
    }

    /// The group before the dot (`model`, `gate`, ...), used by `notifyOn` wildcards such as `gate.*`.
    pub fn group(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or("")
    }

    /// The outcome an event of this type has unless told otherwise.
    pub fn default_outcome(self) -> EventOutcome {
        match self {
            EventType::JobCompleted | EventType::ModelRegistered | EventType::ModelDeployed => {
                EventOutcome::Succeeded
            }
            EventType::JobFailed | EventType::GateFailed => EventOutcome::Failed,
            EventType::JobCanceled => EventOutcome::Canceled,
            EventType::DeploymentRolledBack => EventOutcome::RolledBack,
            EventType::DriftDetected => EventOutcome::Detected,
            EventType::GatePassed => EventOutcome::Passed,
        }
    }

    /// A few words for titles (`Model registered`).
    pub fn label(self) -> &'static str {
        match self {
            EventType::JobCompleted => "Job completed",
            EventType::JobFailed => "Job failed",
            EventType::JobCanceled => "Job canceled",
            EventType::ModelRegistered => "Registered",
            EventType::ModelDeployed => "Model deployed",
            EventType::DeploymentRolledBack => "Deployment rolled back",
            EventType::DriftDetected => "Drift detected",
            EventType::GatePassed => "Gate passed",
            EventType::GateFailed => "Gate failed",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not one of the nine event types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an amlops event type")]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    /// Case-insensitive, with or without the `com.amlops.` prefix.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let lower = trimmed.to_ascii_lowercase();
        let name = lower.strip_prefix(TYPE_PREFIX).unwrap_or(&lower);
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownEventType(trimmed.to_string()))
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How the thing the event is about turned out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    /// Done.
    Succeeded,
    /// Failed.
    Failed,
    /// Cancelled.
    Canceled,
    /// A gate passed.
    Passed,
    /// A gate passed with warnings (warn mode).
    Warned,
    /// Rolled back.
    RolledBack,
    /// Something (drift) was detected.
    Detected,
    /// Anything else.
    Other(String),
}

impl EventOutcome {
    /// The lower-case word written in the record.
    pub fn as_str(&self) -> &str {
        match self {
            EventOutcome::Succeeded => "succeeded",
            EventOutcome::Failed => "failed",
            EventOutcome::Canceled => "canceled",
            EventOutcome::Passed => "passed",
            EventOutcome::Warned => "warned",
            EventOutcome::RolledBack => "rolledBack",
            EventOutcome::Detected => "detected",
            EventOutcome::Other(s) => s,
        }
    }

    /// How good or bad the news is (drives card colours and summary icons).
    pub fn severity(&self) -> Severity {
        match self {
            EventOutcome::Failed => Severity::Bad,
            EventOutcome::RolledBack
            | EventOutcome::Detected
            | EventOutcome::Canceled
            | EventOutcome::Warned => Severity::Warning,
            EventOutcome::Succeeded | EventOutcome::Passed | EventOutcome::Other(_) => Severity::Good,
        }
    }
}

/// How an outcome is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Success.
    Good,
    /// Needs attention but is not a failure.
    Warning,
    /// A failure.
    Bad,
}

impl fmt::Display for EventOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The kind of an Azure ML asset or resource an event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetKind {
    /// A registered model.
    Model,
    /// A data asset.
    Data,
    /// An environment.
    Environment,
    /// A component.
    Component,
    /// A job (command, pipeline, sweep...).
    Job,
    /// An online endpoint.
    OnlineEndpoint,
    /// An online deployment.
    OnlineDeployment,
    /// A batch endpoint.
    BatchEndpoint,
    /// A batch deployment.
    BatchDeployment,
    /// Anything else Azure ML may add.
    Unknown(String),
}

impl AssetKind {
    /// The camelCase name written in the record.
    pub fn as_str(&self) -> &str {
        match self {
            AssetKind::Model => "model",
            AssetKind::Data => "data",
            AssetKind::Environment => "environment",
            AssetKind::Component => "component",
            AssetKind::Job => "job",
            AssetKind::OnlineEndpoint => "onlineEndpoint",
            AssetKind::OnlineDeployment => "onlineDeployment",
            AssetKind::BatchEndpoint => "batchEndpoint",
            AssetKind::BatchDeployment => "batchDeployment",
            AssetKind::Unknown(s) => s,
        }
    }

    /// A capitalised label for people (`Model`, `Online deployment`).
    pub fn label(&self) -> String {
        match self {
            AssetKind::Model => "Model".into(),
            AssetKind::Data => "Data".into(),
            AssetKind::Environment => "Environment".into(),
            AssetKind::Component => "Component".into(),
            AssetKind::Job => "Job".into(),
            AssetKind::OnlineEndpoint => "Online endpoint".into(),
            AssetKind::OnlineDeployment => "Online deployment".into(),
            AssetKind::BatchEndpoint => "Batch endpoint".into(),
            AssetKind::BatchDeployment => "Batch deployment".into(),
            AssetKind::Unknown(s) => s.clone(),
        }
    }
}

impl Serialize for AssetKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An asset or resource an event is about: kind, name, version and its Azure ML id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssetRef {
    /// What it is.
    pub kind: AssetKind,
    /// Its name (a job's name, an endpoint's name...).
    pub name: String,
    /// Its version, for versioned assets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Its Azure ML id: the ARM resource id, or an `azureml://` URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl AssetRef {
    /// An asset without version or id.
    pub fn new(kind: AssetKind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
            version: None,
            id: None,
        }
    }

    /// A model `name:version`.
    pub fn model(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::new(AssetKind::Model, name).with_version(version)
    }

    /// A job by name.
    pub fn job(name: impl Into<String>) -> Self {
        Self::new(AssetKind::Job, name)
    }

    /// Set the version.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Set the Azure ML id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// `name:version`, or `name` for unversioned assets.
    pub fn display_name(&self) -> String {
        match &self.version {
            Some(v) => format!("{}:{v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The Azure ML workspace the task works on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkspaceInfo {
    /// The workspace name.
    pub name: String,
    /// Its resource group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_group: Option<String>,
    /// Its subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Its region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The ARM resource id of the workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl WorkspaceInfo {
    /// A workspace known by its ARM coordinates; `id` is its ARM resource id.
    pub fn arm(subscription_id: &str, resource_group: &str, workspace: &str) -> Self {
        Self {
            name: workspace.to_string(),
            resource_group: Some(resource_group.to_string()),
            subscription_id: Some(subscription_id.to_string()),
            location: None,
            id: Some(format!(
                "/subscriptions/{subscription_id}/resourceGroups/{resource_group}/providers/\
                 Microsoft.MachineLearningServices/workspaces/{workspace}"
            )),
        }
    }

    /// A workspace known by name only.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// One lifecycle event, as a task describes it. The [`crate::Emitter`] adds the pipeline context (who, why, when,
/// where) and turns it into a CloudEvent.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The type.
    pub event_type: EventType,
    /// The CloudEvents `subject`; when `None`, the id (else `name:version`) of the first asset.
    pub subject: Option<String>,
    /// A one-line title for people; when `None`, one is made from the type and the first asset.
    pub title: Option<String>,
    /// The outcome; defaults from the type.
    pub outcome: EventOutcome,
    /// A longer explanation (an error, the gate's failed rules, the drift summary).
    pub message: Option<String>,
    /// The assets and versions involved; the first is the main one.
    pub assets: Vec<AssetRef>,
    /// Metrics where they apply (a job's final metrics, the gate's observed values, drift scores).
    pub metrics: BTreeMap<String, f64>,
    /// Anything else worth recording (traffic split, gate rules, job status...).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// When it happened; the emitter uses the current time when `None`.
    pub time: Option<OffsetDateTime>,
}

impl Event {
    /// An event of `event_type` about nothing yet; add assets with [`Event::asset`].
    pub fn new(event_type: EventType) -> Self {
        Self {
            event_type,
            subject: None,
            title: None,
            outcome: event_type.default_outcome(),
            message: None,
            assets: Vec::new(),
            metrics: BTreeMap::new(),
            details: serde_json::Map::new(),
            time: None,
        }
    }

    /// `job.completed` for `job`.
    pub fn job_completed(job: AssetRef) -> Self {
        Self::new(EventType::JobCompleted).asset(job)
    }

    /// `job.failed` for `job`, with the error.
    pub fn job_failed(job: AssetRef, error: impl Into<String>) -> Self {
        Self::new(EventType::JobFailed).asset(job).message(error)
    }

    /// `job.canceled` for `job`.
    pub fn job_canceled(job: AssetRef) -> Self {
        Self::new(EventType::JobCanceled).asset(job)
    }

    /// `model.registered` for any registered asset (model, data, environment, component).
    pub fn model_registered(asset: AssetRef) -> Self {
        Self::new(EventType::ModelRegistered).asset(asset)
    }

    /// `model.deployed`: `model` now serves in `deployment`.
    pub fn model_deployed(deployment: AssetRef, model: AssetRef) -> Self {
        Self::new(EventType::ModelDeployed).asset(model).asset(deployment)
    }

    /// `deployment.rolledBack`, with why.
    pub fn deployment_rolled_back(deployment: AssetRef, reason: impl Into<String>) -> Self {
        Self::new(EventType::DeploymentRolledBack)
            .asset(deployment)
            .message(reason)
    }

    /// `drift.detected` on `asset` (the monitored data or model), with a summary.
    pub fn drift_detected(asset: AssetRef, summary: impl Into<String>) -> Self {
        Self::new(EventType::DriftDetected).asset(asset).message(summary)
    }

    /// `gate.passed` for `asset`.
    pub fn gate_passed(asset: AssetRef) -> Self {
        Self::new(EventType::GatePassed).asset(asset)
    }

    /// `gate.failed` for `asset`, with the reasons.
    pub fn gate_failed(asset: AssetRef, reasons: impl Into<String>) -> Self {
        Self::new(EventType::GateFailed).asset(asset).message(reasons)
    }

    /// Add an asset.
    pub fn asset(mut self, asset: AssetRef) -> Self {
        self.assets.push(asset);
        self
    }

    /// Set the subject explicitly.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Set the title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Override the outcome.
    pub fn outcome(mut self, outcome: EventOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Set the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Add a metric. Non-finite values are dropped (JSON cannot carry them).
    pub fn metric(mut self, name: impl Into<String>, value: f64) -> Self {
        if value.is_finite() {
            self.metrics.insert(name.into(), value);
        }
        self
    }

    /// Add several metrics.
    pub fn metrics(mut self, metrics: impl IntoIterator<Item = (String, f64)>) -> Self {
        for (name, value) in metrics {
            self = self.metric(name, value);
        }
        self
    }

    /// Add a detail.
    pub fn detail(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }

    /// Set the time.
    pub fn at(mut self, time: OffsetDateTime) -> Self {
        self.time = Some(time);
        self
    }

    /// The subject the CloudEvent carries.
    pub fn effective_subject(&self) -> Option<String> {
        if let Some(s) = &self.subject {
            return Some(s.clone());
        }
        let first = self.assets.first()?;
        Some(first.id.clone().unwrap_or_else(|| first.display_name()))
    }

    /// The title people see.
    pub fn effective_title(&self) -> String {
        if let Some(t) = &self.title {
            return t.clone();
        }
        match self.assets.first() {
            Some(a) if self.event_type == EventType::ModelRegistered => {
                format!("{} registered: {}", a.kind.label(), a.display_name())
            }
            Some(a) => format!("{}: {}", self.event_type.label(), a.display_name()),
            None => self.event_type.label().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_and_accept_the_prefix() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().unwrap(), t);
            assert_eq!(t.cloud_event_type().parse::<EventType>().unwrap(), t);
            assert_eq!(t.as_str().to_uppercase().parse::<EventType>().unwrap(), t);
        }
        assert_eq!(
            EventType::DeploymentRolledBack.cloud_event_type(),
            "com.amlops.deployment.rolledBack"
        );
        assert_eq!(
            "model.trained".parse::<EventType>(),
            Err(UnknownEventType("model.trained".into()))
        );
    }

    #[test]
    fn subject_and_title_default_from_the_first_asset() {
        let e = Event::model_registered(
            AssetRef::model("credit", "3").with_id("azureml://x/models/credit/versions/3"),
        );
        assert_eq!(
            e.effective_subject().as_deref(),
            Some("azureml://x/models/credit/versions/3")
        );
        assert_eq!(e.effective_title(), "Model registered: credit:3");
        assert_eq!(e.outcome, EventOutcome::Succeeded);

        let g = Event::gate_failed(AssetRef::model("credit", "3"), "auc 0.7 < 0.8").metric("auc", 0.7);
        assert_eq!(g.effective_subject().as_deref(), Some("credit:3"));
        assert_eq!(g.effective_title(), "Gate failed: credit:3");
        assert_eq!(g.outcome, EventOutcome::Failed);
        assert_eq!(g.metrics.get("auc"), Some(&0.7));

        let n = Event::new(EventType::DriftDetected)
            .metric("psi", f64::NAN)
            .subject("s")
            .title("t");
        assert!(n.metrics.is_empty());
        assert_eq!(
            (n.effective_subject().as_deref(), n.effective_title().as_str()),
            (Some("s"), "t")
        );
    }
}
