//! What the gate needs from Azure Machine Learning, as a small trait ([`GateBackend`]), and the references users
//! write in the inputs (`azureml:name:version`, model ids, data URIs).
//!
//! The task uses the REST client through [`crate::azure::AzureBackend`]; tests use an in-memory fake.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

/// An error from the backend, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {source}")]
pub struct BackendError {
    /// What the gate was doing (`reading the metrics of job 'x'`).
    pub operation: String,
    /// The cause.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl BackendError {
    /// Wrap any error with the operation.
    pub fn new(
        operation: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Self {
            operation: operation.into(),
            source: source.into(),
        }
    }
}

/// A registered model version as the gate sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelVersion {
    /// The model name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The ARM id, when known.
    pub id: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its properties (registration copies the job's metrics here).
    pub properties: BTreeMap<String, String>,
}

impl ModelVersion {
    /// `name:version`.
    pub fn display(&self) -> String {
        format!("{}:{}", self.name, self.version)
    }
}

/// An online endpoint's traffic split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointTraffic {
    /// Deployment name to percentage of live traffic (mirror traffic is not counted).
    pub traffic: BTreeMap<String, u32>,
}

/// A tag filter: `key=value`, or `key` (present with any value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFilter {
    /// The key.
    pub key: String,
    /// The value, when one is required.
    pub value: Option<String>,
}

impl TagFilter {
    /// Parse `key=value` or `key`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match text.split_once('=') {
            Some((k, v)) => Self {
                key: k.trim().to_string(),
                value: Some(v.trim().to_string()),
            },
            None => Self {
                key: text.to_string(),
                value: None,
            },
        })
    }

    /// Whether `tags` match.
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match tags.get(&self.key) {
            None => false,
            Some(v) => self.value.as_ref().is_none_or(|want| want == v),
        }
    }
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.key),
            None => f.write_str(&self.key),
        }
    }
}

/// What the gate needs from Azure ML.
#[async_trait]
pub trait GateBackend: Send + Sync {
    /// The final value of every metric of a job (MLflow `runs/get`).
    async fn job_metrics(&self, job: &str) -> Result<BTreeMap<String, f64>, BackendError>;

    /// A model version; `None` when it does not exist.
    async fn model_version(&self, name: &str, version: &str) -> Result<Option<ModelVersion>, BackendError>;

    /// The versions of a model, any order; empty when the model does not exist.
    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>, BackendError>;

    /// An online endpoint's traffic; `None` when the endpoint does not exist.
    async fn endpoint_traffic(&self, endpoint: &str) -> Result<Option<EndpointTraffic>, BackendError>;

    /// The model reference of an online deployment (`properties.model`: an ARM id or `azureml:name:version`);
    /// `None` when the deployment does not exist or names no model.
    async fn deployment_model(
        &self,
        endpoint: &str,
        deployment: &str,
    ) -> Result<Option<String>, BackendError>;

    /// Download a data asset or datastore URI (`azureml:...`) into the folder `dest`, returning the local file or
    /// folder to read.
    async fn download_data(&self, uri: &str, dest: &Path) -> Result<PathBuf, BackendError>;

    /// Whether the online deployment exists.
    async fn deployment_exists(&self, endpoint: &str, deployment: &str) -> Result<bool, BackendError> {
        Ok(self.deployment_model(endpoint, deployment).await?.is_some())
    }

    /// The name of the workspace's default datastore, checked to be a blob container (where the data collector
    /// writes).
    async fn default_blob_datastore(&self) -> Result<String, BackendError> {
        Err(unsupported("finding the default datastore"))
    }

    /// The names of the blobs under each of `prefixes` (folders ending with `/`) in a blob datastore.
    async fn list_blobs(&self, datastore: &str, prefixes: &[String]) -> Result<Vec<String>, BackendError> {
        let _ = prefixes;
        Err(unsupported(&format!(
            "listing blobs in the datastore '{datastore}'"
        )))
    }

    /// Download blobs of a blob datastore, each to its local file (parent folders are created).
    async fn download_blobs(&self, datastore: &str, files: &[(String, PathBuf)]) -> Result<(), BackendError> {
        let _ = files;
        Err(unsupported(&format!(
            "downloading blobs from the datastore '{datastore}'"
        )))
    }

    /// The job that produced a model version (its `jobName`); `None` when the model does not exist or names
    /// no job.
    async fn model_job_name(&self, name: &str, version: &str) -> Result<Option<String>, BackendError> {
        Err(unsupported(&format!(
            "reading the job of the model {name}:{version}"
        )))
    }

    /// A job's inputs.
    async fn job_inputs(&self, job: &str) -> Result<Vec<JobInput>, BackendError> {
        Err(unsupported(&format!("reading the inputs of job '{job}'")))
    }
}

fn unsupported(operation: &str) -> BackendError {
    BackendError::new(operation, "this backend does not support live data")
}

/// One input of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInput {
    /// The input's name.
    pub name: String,
    /// `uri_file`, `uri_folder`, `mltable`, `literal`...
    pub kind: String,
    /// Its URI (data inputs), or its value.
    pub uri: String,
}

impl JobInput {
    /// Whether it is data the drift check can read (`uri_file`, `uri_folder`, `mltable`).
    pub fn is_data(&self) -> bool {
        let k = self.kind.to_ascii_lowercase().replace('_', "");
        matches!(k.as_str(), "urifile" | "urifolder" | "mltable")
    }
}

/// A model version reference the user wrote or Azure returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The name.
    pub name: String,
    /// The version; `None` when only a name was given.
    pub version: Option<String>,
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{}:{v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Why a model reference cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a model reference: {problem}")]
pub struct ModelRefError {
    /// The text.
    pub text: String,
    /// What is wrong.
    pub problem: String,
}

impl ModelRef {
    /// Parse `azureml:name:version`, `name:version`, `name`, `azureml:name@latest` is refused, an ARM id
    /// (`/subscriptions/.../workspaces/ws/models/name/versions/3`) or a workspace `azureml://` URI
    /// (`azureml://subscriptions/.../workspaces/ws/models/name/versions/3` or `azureml://.../models/name/3`).
    pub fn parse(text: &str) -> Result<Self, ModelRefError> {
        let text = text.trim();
        let err = |problem: &str| ModelRefError {
            text: text.to_string(),
            problem: problem.to_string(),
        };
        if text.is_empty() {
            return Err(err("it is empty"));
        }
        if text.starts_with("azureml://registries/") || text.contains("/registries/") {
            return Err(err(
                "models in registries are not supported by the gate; use a workspace model",
            ));
        }
        let lower = text.to_ascii_lowercase();
        if text.starts_with('/') || lower.starts_with("azureml://") {
            let segments: Vec<&str> = text.split('/').filter(|s| !s.is_empty()).collect();
            let models = segments
                .iter()
                .rposition(|s| s.eq_ignore_ascii_case("models"))
                .ok_or_else(|| err("an id must contain /models/<name>/versions/<version>"))?;
            let name = segments
                .get(models + 1)
                .ok_or_else(|| err("the id has no model name after /models/"))?;
            let version = match (segments.get(models + 2), segments.get(models + 3)) {
                (Some(v), Some(ver)) if v.eq_ignore_ascii_case("versions") => Some(ver.to_string()),
                (Some(ver), None) if !ver.eq_ignore_ascii_case("versions") => Some(ver.to_string()),
                (None, None) => None,
                _ => return Err(err("an id must end with /models/<name>/versions/<version>")),
            };
            return Ok(Self {
                name: name.to_string(),
                version,
            });
        }
        let rest = text.strip_prefix("azureml:").unwrap_or(text);
        if rest.contains('@') {
            return Err(err(
                "labels such as @latest are not supported here; give an explicit version",
            ));
        }
        let (name, version) = match rest.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        if name.is_empty() || name.contains([':', '/', ' ']) {
            return Err(err("expected azureml:<name>:<version>"));
        }
        if let Some(v) = version
            && (v.is_empty() || v.contains([':', '/', ' ']))
        {
            return Err(err("expected azureml:<name>:<version>"));
        }
        Ok(Self {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }
}

/// Whether a data input names something in Azure ML (to download) rather than a local path.
pub fn is_remote_data(uri: &str) -> bool {
    let lower = uri.trim().to_ascii_lowercase();
    lower.starts_with("azureml:")
        || lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("endpoint:")
        || lower.starts_with("model:")
}

/// Number-valued properties of a model as metrics. The prefix `amlops.metric.` (how AzureMLRegister copies a
/// training job's metrics), `metrics.` or `metric.` is also removed (both names work); other `amlops.` properties
/// are governance data, not metrics; values that are not finite numbers are not metrics.
pub fn metrics_from_properties(properties: &BTreeMap<String, String>) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (key, value) in properties {
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        if !v.is_finite() || (key.starts_with("amlops.") && !key.starts_with("amlops.metric.")) {
            continue;
        }
        out.insert(key.clone(), v);
        for prefix in ["amlops.metric.", "metrics.", "metric."] {
            if let Some(short) = key.strip_prefix(prefix)
                && !short.is_empty()
            {
                out.entry(short.to_string()).or_insert(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_references() {
        let ok = |t: &str, name: &str, version: Option<&str>| {
            let r = ModelRef::parse(t).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((r.name.as_str(), r.version.as_deref()), (name, version), "{t}");
        };
        ok("azureml:churn:3", "churn", Some("3"));
        ok("churn:12", "churn", Some("12"));
        ok("churn", "churn", None);
        ok(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws/models/churn/versions/4",
            "churn",
            Some("4"),
        );
        ok(
            "azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/models/churn/versions/5",
            "churn",
            Some("5"),
        );
        ok(
            "azureml://locations/westeurope/workspaces/w/models/churn/6",
            "churn",
            Some("6"),
        );
        for bad in [
            "",
            "azureml:churn@latest",
            "azureml://registries/r/models/churn/versions/1",
            "/subscriptions/s/models",
            "azureml:churn:",
            "a b:1",
        ] {
            assert!(ModelRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tag_filters() {
        let tags: BTreeMap<String, String> = [("stage".to_string(), "production".to_string())].into();
        assert!(TagFilter::parse("stage=production").unwrap().matches(&tags));
        assert!(TagFilter::parse(" stage = production ").unwrap().matches(&tags));
        assert!(!TagFilter::parse("stage=staging").unwrap().matches(&tags));
        assert!(TagFilter::parse("stage").unwrap().matches(&tags));
        assert!(!TagFilter::parse("owner").unwrap().matches(&tags));
        assert_eq!(TagFilter::parse("  "), None);
    }

    #[test]
    fn properties_become_metrics() {
        let props: BTreeMap<String, String> = [
            ("accuracy", "0.91"),
            ("metrics.rmse", "0.4"),
            ("amlops.metric.auc", "0.8"),
            ("amlops.buildId", "1234"),
            ("framework", "sklearn"),
            ("nan", "NaN"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let m = metrics_from_properties(&props);
        assert_eq!(m.get("accuracy"), Some(&0.91));
        assert_eq!(m.get("metrics.rmse"), Some(&0.4));
        assert_eq!(m.get("rmse"), Some(&0.4));
        assert_eq!(m.get("auc"), Some(&0.8));
        assert!(!m.contains_key("amlops.buildId"));
        assert!(!m.contains_key("framework") && !m.contains_key("nan"));
    }

    #[test]
    fn remote_data() {
        assert!(is_remote_data("azureml:train:1"));
        assert!(is_remote_data("azureml://datastores/ws/paths/x.csv"));
        assert!(!is_remote_data("data/train.csv"));
        assert!(!is_remote_data("/abs/train.parquet"));
        assert!(is_remote_data("endpoint:churn/blue"));
        assert!(is_remote_data("model:churn:3"));
    }
}
