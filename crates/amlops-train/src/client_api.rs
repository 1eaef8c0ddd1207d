//! [`JobApi`] over the client crate's [`AzureMlClient`] (jobs, run history, logs, MLflow, uploads, rendered
//! requests, asset containers).

use amlops_agent::AzureEnvironment;
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{ArmRequest, AzureMlClient, AzureMlError, ErrorKind};
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;

use crate::api::{JobApi, JobInfo, LogChunk, RunDetails};
use crate::naming::slug;

/// The Azure ML scope of the `x-azureml-token` header.
const AML_SCOPE: &str = "https://ml.azure.com/.default";

/// The HTTP implementation of [`JobApi`] for one workspace and one cancellation token (the client's).
#[derive(Debug, Clone)]
pub struct ClientJobApi {
    client: AzureMlClient,
    environment: AzureEnvironment,
}

#[allow(clippy::result_large_err)] // the client crate's error type, returned as the client does
fn to_value<T: serde::Serialize>(op: &str, v: &T) -> Result<Value, AzureMlError> {
    serde_json::to_value(v).map_err(|e| AzureMlError::new(ErrorKind::Decode, op, e.to_string()))
}

impl ClientJobApi {
    /// Jobs of `client`'s workspace in the connection's cloud (`environment`).
    pub fn new(client: AzureMlClient, environment: AzureEnvironment) -> Self {
        Self { client, environment }
    }

    /// The `x-azureml-token` for the PUT of a pipeline job (API guide §0), public cloud only. A failure to get
    /// that token is logged and the PUT goes without it.
    async fn aml_token(&self, request: &RestRequest) -> Option<String> {
        let is_pipeline_job = request.path.contains("/jobs/")
            && request.body["properties"]["jobType"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("pipeline"));
        if !is_pipeline_job || self.environment != AzureEnvironment::AzureCloud {
            return None;
        }
        match self.client.token_for_scope(AML_SCOPE).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!("no Azure ML token for the pipeline job (x-azureml-token): {e}");
                None
            }
        }
    }
}

#[async_trait]
impl JobApi for ClientJobApi {
    async fn get_job(&self, name: &str) -> Result<Option<JobInfo>, AzureMlError> {
        match self.client.get_job(name).await {
            Ok(job) => Ok(Some(JobInfo::from_json(name, &to_value("jobs.get", &job)?))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn upload(&self, upload: &Upload) -> Result<UploadOutcome, AzureMlError> {
        let options = UploadOptions::default();
        if upload.role.is_code() {
            // A snapshot with `additional_includes` is uploaded as `code_with_additional_includes`; its asset
            // is still named after the code folder.
            let base = if upload.additional_includes.is_empty() {
                slug(&upload.basename)
            } else {
                upload
                    .local_path
                    .file_name()
                    .map(|n| slug(&n.to_string_lossy()))
                    .unwrap_or_default()
            };
            let name = format!("amlops-code-{}", if base.is_empty() { "root" } else { &base });
            let code = self
                .client
                .upload_code_asset_with_includes(
                    &name,
                    &upload.local_path,
                    &upload.additional_includes,
                    &options,
                )
                .await?;
            Ok(UploadOutcome::Code {
                name: code.name,
                version: code.version,
                code_uri: code.code_uri,
                hash: code.hash,
            })
        } else {
            let done = self
                .client
                .upload_to_default_datastore(&upload.local_path, (&upload.basename, "1"), &options)
                .await?;
            Ok(UploadOutcome::Blob {
                datastore: done.datastore,
                account: done.account,
                container: done.container,
                path: done.path,
                hash: done.hash,
            })
        }
    }

    async fn latest_version(&self, asset: AssetType, name: &str) -> Result<String, AzureMlError> {
        self.client.latest_asset_version(asset.collection(), name).await
    }

    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError> {
        let op = if request.path.contains("/jobs/") {
            "jobs.createOrUpdate"
        } else {
            "createOrUpdate"
        };
        let aml_token = self.aml_token(request).await;
        self.client
            .send_arm_request(&ArmRequest {
                op,
                method: &request.method,
                path: &request.path,
                api_version: &request.api_version,
                body: Some(&request.body),
                aml_token: aml_token.as_deref(),
            })
            .await
    }

    async fn cancel_job(&self, name: &str) -> Result<(), AzureMlError> {
        self.client.cancel_job(name).await
    }

    async fn run_details(&self, name: &str) -> Result<RunDetails, AzureMlError> {
        let d = self.client.get_run_details(name).await?;
        Ok(RunDetails::from_json(&to_value("runHistory.details", &d)?))
    }

    async fn children(&self, name: &str) -> Result<Vec<RunDetails>, AzureMlError> {
        let runs = self.client.get_run_children(name).await?;
        let mut out = Vec::with_capacity(runs.len());
        for run in &runs {
            let mut r = RunDetails::from_json(&to_value("runHistory.children", run)?);
            // Child listings may leave out log files: ask for the step's details.
            if r.log_files.is_empty() && !r.run_id.is_empty() {
                let d = self.run_details(&r.run_id).await?;
                r.log_files = d.log_files;
                r.error = r.error.or(d.error);
                r.start = r.start.or(d.start);
                r.end = r.end.or(d.end);
            }
            out.push(r);
        }
        Ok(out)
    }

    async fn read_log(&self, url: &str, from: u64) -> Result<LogChunk, AzureMlError> {
        let bytes = self.client.fetch_log(url, from).await?;
        Ok(LogChunk {
            start: from,
            bytes: bytes.to_vec(),
        })
    }

    async fn metrics(&self, run_id: &str) -> Result<Vec<(String, f64)>, AzureMlError> {
        match self.client.mlflow_get_run(run_id).await {
            Ok(run) => Ok(run.data.metrics.into_iter().map(|m| (m.key, m.value)).collect()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}
