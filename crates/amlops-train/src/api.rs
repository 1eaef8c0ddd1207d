//! The Azure ML operations the task needs, behind a trait ([`JobApi`]) so the flow can be tested with a fake and
//! the HTTP implementation ([`crate::http_api::HttpJobApi`]) can move onto the client crate's typed operations.

use std::collections::BTreeMap;
use std::time::Duration;

use amlops_azureml::AzureMlError;
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::status::JobStatus;

/// A job as `GET {WS}/jobs/{name}` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobInfo {
    /// The job's name.
    pub name: String,
    /// `properties.status` (`None` when absent).
    pub status: Option<JobStatus>,
    /// `properties.jobType` (Command, Pipeline, Sweep...).
    pub job_type: Option<String>,
    /// `properties.displayName`.
    pub display_name: Option<String>,
    /// `properties.experimentName`.
    pub experiment_name: Option<String>,
    /// `properties.computeId`.
    pub compute_id: Option<String>,
    /// `properties.services.Studio.endpoint`.
    pub studio_url: Option<String>,
    /// The server's `Retry-After` on this response, if any.
    pub retry_after: Option<Duration>,
}

impl JobInfo {
    /// Read a job resource.
    pub fn from_json(name: &str, v: &Value) -> Self {
        let p = &v["properties"];
        let s = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Self {
            name: s(&v["name"]).unwrap_or_else(|| name.to_string()),
            status: s(&p["status"]).map(|x| JobStatus::parse(&x)),
            job_type: s(&p["jobType"]),
            display_name: s(&p["displayName"]),
            experiment_name: s(&p["experimentName"]),
            compute_id: s(&p["computeId"]),
            studio_url: s(&p["services"]["Studio"]["endpoint"]),
            retry_after: None,
        }
    }

    /// Whether the job is a pipeline job.
    pub fn is_pipeline(&self) -> bool {
        self.job_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("pipeline"))
    }

    /// The compute's name (last segment of its id), if any.
    pub fn compute_name(&self) -> Option<String> {
        self.compute_id.as_deref().map(|id| {
            id.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(id)
                .to_string()
        })
    }
}

/// A run as run history's `details` (or `children`) describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunDetails {
    /// `runId`.
    pub run_id: String,
    /// `status`.
    pub status: Option<JobStatus>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `properties["azureml.nodeid"]`: a pipeline step's node.
    pub node: Option<String>,
    /// `logFiles`: name -> URL (SAS; no bearer).
    pub log_files: BTreeMap<String, String>,
    /// `error.error.message` (with its code).
    pub error: Option<String>,
    /// `startTimeUtc`.
    pub start: Option<OffsetDateTime>,
    /// `endTimeUtc`.
    pub end: Option<OffsetDateTime>,
}

impl RunDetails {
    /// Read a run-history run.
    pub fn from_json(v: &Value) -> Self {
        let s = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        let t = |x: &Value| x.as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        let log_files = v["logFiles"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, u)| u.as_str().map(|u| (k.clone(), u.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let err = &v["error"]["error"];
        let error = s(&err["message"]).map(|m| match s(&err["code"]) {
            Some(code) if !m.contains(&code) => format!("{m} ({code})"),
            _ => m,
        });
        Self {
            run_id: s(&v["runId"]).unwrap_or_default(),
            status: s(&v["status"]).map(|x| JobStatus::parse(&x)),
            display_name: s(&v["displayName"]),
            node: s(&v["properties"]["azureml.nodeid"]),
            log_files,
            error,
            start: t(&v["startTimeUtc"]),
            end: t(&v["endTimeUtc"]),
        }
    }

    /// The name to show for a pipeline step: display name, else node id, else run id.
    pub fn step_name(&self) -> String {
        self.display_name
            .clone()
            .or_else(|| self.node.clone())
            .unwrap_or_else(|| self.run_id.clone())
    }

    /// Duration, when both ends are known.
    pub fn duration(&self) -> Option<Duration> {
        let (s, e) = (self.start?, self.end?);
        Duration::try_from(e - s).ok()
    }
}

/// Bytes of a log file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogChunk {
    /// The file offset of `bytes[0]` (0 when the server sent the whole file).
    pub start: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The operations of the train task. An implementation observes one cancellation token (retries and waits stop
/// when it fires); the flow holds a second, detached one for the clean-up after a cancellation.
#[async_trait]
pub trait JobApi: Send + Sync {
    /// `GET {WS}/jobs/{name}`; `Ok(None)` when there is no such job.
    async fn get_job(&self, name: &str) -> Result<Option<JobInfo>, AzureMlError>;

    /// Upload a local path the job needs (code snapshot or datastore artifact).
    async fn upload(&self, upload: &Upload) -> Result<UploadOutcome, AzureMlError>;

    /// The latest version of a workspace asset (`name@latest`).
    async fn latest_version(&self, asset: AssetType, name: &str) -> Result<String, AzureMlError>;

    /// Send one rendered request (component, environment, code version, the job PUT); returns the response body.
    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError>;

    /// `POST {WS}/jobs/{name}/cancel` (the caller then watches the status).
    async fn cancel_job(&self, name: &str) -> Result<(), AzureMlError>;

    /// Run history `runs/{name}/details`.
    async fn run_details(&self, name: &str) -> Result<RunDetails, AzureMlError>;

    /// Run history `runs/{name}/children` (pipeline steps).
    async fn children(&self, name: &str) -> Result<Vec<RunDetails>, AzureMlError>;

    /// A log file from byte `from` on (the server may send the whole file instead).
    async fn read_log(&self, url: &str, from: u64) -> Result<LogChunk, AzureMlError>;

    /// The final (latest) value of each MLflow metric of a run, by name.
    async fn metrics(&self, run_id: &str) -> Result<Vec<(String, f64)>, AzureMlError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_job() {
        let v = json!({"name": "j1", "properties": {"status": "Running", "jobType": "Pipeline",
            "computeId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/computes/cpu",
            "services": {"Studio": {"endpoint": "https://ml.azure.com/runs/j1?wsid=x"}}}});
        let j = JobInfo::from_json("ignored", &v);
        assert_eq!(j.name, "j1");
        assert_eq!(j.status, Some(JobStatus::Running));
        assert!(j.is_pipeline());
        assert_eq!(j.compute_name().as_deref(), Some("cpu"));
        assert_eq!(
            j.studio_url.as_deref(),
            Some("https://ml.azure.com/runs/j1?wsid=x")
        );
    }

    #[test]
    fn reads_run_details() {
        let v = json!({"runId": "r", "status": "Failed", "properties": {"azureml.nodeid": "train"},
            "logFiles": {"user_logs/std_log.txt": "https://x/y?sig=1"},
            "error": {"error": {"code": "UserError", "message": "boom"}},
            "startTimeUtc": "2026-11-26T06:00:00Z", "endTimeUtc": "2026-11-26T06:01:05.5Z"});
        let d = RunDetails::from_json(&v);
        assert_eq!(d.status, Some(JobStatus::Failed));
        assert_eq!(d.error.as_deref(), Some("boom (UserError)"));
        assert_eq!(d.step_name(), "train");
        assert_eq!(d.duration(), Some(Duration::from_millis(65_500)));
        assert_eq!(d.log_files.len(), 1);
        assert_eq!(RunDetails::from_json(&json!({})), RunDetails::default());
    }
}
