//! [`JobApi`] over the client crate's [`AzureMlClient`] (jobs, run history, logs, MLflow, uploads).
//!
//! Two calls are made here directly, over the same HTTP client, retry policy and credential, because the client
//! has no generic operation for them: sending a rendered request (any ARM path, with the api-version the spec
//! crate chose for its body) and reading an asset container's `latestVersion`.

// The client crate's error type is large; these helpers return it as the client does.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use amlops_agent::{AzureEnvironment, CancellationToken};
use amlops_azureml::credential::{Credential, scope_for_resource};
use amlops_azureml::http::{BufferedResponse, Idempotency, RetryPolicy, parse_checked_url, redact_url};
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{AzureMlClient, AzureMlError, ClientConfig, ErrorKind, SecretSink};
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::api::{JobApi, JobInfo, LogChunk, RunDetails};
use crate::naming::slug;

/// The HTTP implementation of [`JobApi`] for one workspace and one cancellation token.
pub struct ClientJobApi {
    client: AzureMlClient,
    http: reqwest::Client,
    retry: RetryPolicy,
    credential: Option<Arc<Credential>>,
    arm_base: Url,
    scope: String,
    environment: AzureEnvironment,
    cancel: CancellationToken,
}

impl std::fmt::Debug for ClientJobApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientJobApi")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn status_error(op: &str, method: &Method, url: &Url, resp: &BufferedResponse) -> AzureMlError {
    AzureMlError::new(ErrorKind::Status, op, format!("HTTP {}", resp.status.as_u16()))
        .with_request(method, redact_url(url))
        .with_response(resp.status.as_u16(), &resp.headers, &resp.body, false)
}

fn decode(op: &str, method: &Method, url: &Url, body: &[u8]) -> Result<Value, AzureMlError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(body).map_err(|e| {
        AzureMlError::new(
            ErrorKind::Decode,
            op,
            format!("the response is not valid JSON: {e}"),
        )
        .with_request(method, redact_url(url))
    })
}

fn to_value<T: serde::Serialize>(op: &str, v: &T) -> Result<Value, AzureMlError> {
    serde_json::to_value(v).map_err(|e| AzureMlError::new(ErrorKind::Decode, op, e.to_string()))
}

/// `…/codes/{name}/versions/{version}` -> (name, version).
fn code_name_version(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    (n >= 4 && parts[n - 4].eq_ignore_ascii_case("codes") && parts[n - 2].eq_ignore_ascii_case("versions"))
        .then(|| (parts[n - 3].to_string(), parts[n - 1].to_string()))
}

/// `azureml://…/datastores/{ds}/paths/{path}` and the folder's blob URL -> (datastore, account, container, path).
fn blob_location(uri: &str, blob_folder_url: &str) -> Option<(String, String, String, String)> {
    let (head, path) = uri.split_once("/paths/")?;
    let datastore = head.rsplit('/').next()?.to_string();
    let path = path.trim_end_matches('/').to_string();
    let url = Url::parse(blob_folder_url).ok()?;
    let segments: Vec<&str> = url.path().trim_matches('/').split('/').collect();
    let path_len = path.split('/').count();
    let container_at = segments.len().checked_sub(path_len + 1)?;
    let container = segments.get(container_at)?.to_string();
    let host = url.host_str()?;
    let account = match host.split_once(".blob.") {
        Some((account, _)) => account.to_string(),
        // Path-style (local workspace): /{account}/{container}/...
        None => segments.get(container_at.checked_sub(1)?)?.to_string(),
    };
    Some((datastore, account, container, path))
}

impl ClientJobApi {
    /// A client for the workspace of `config`; `credential` is `None` only for loopback URLs.
    pub fn new(
        http: reqwest::Client,
        config: ClientConfig,
        credential: Option<Arc<Credential>>,
        secrets: SecretSink,
        environment: AzureEnvironment,
        cancel: CancellationToken,
    ) -> Result<Self, AzureMlError> {
        let scope = scope_for_resource(&config.token_resource);
        let retry = config.retry.clone();
        let mut base = config
            .resource_manager_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        base.push('/');
        let arm_base = parse_checked_url(&base).map_err(|e| AzureMlError::from_url("client", e))?;
        let client = AzureMlClient::new(http.clone(), config, credential.clone(), secrets, cancel.clone())?;
        Ok(Self {
            client,
            http,
            retry,
            credential,
            arm_base,
            scope,
            environment,
            cancel,
        })
    }

    async fn token(&self, scope: &str) -> Result<Option<String>, AzureMlError> {
        match &self.credential {
            Some(c) => c.token(scope, &self.cancel).await.map(Some),
            None => Ok(None),
        }
    }

    fn arm_url(&self, path: &str, api_version: &str) -> Result<Url, AzureMlError> {
        let mut url = self.arm_base.join(path.trim_start_matches('/')).map_err(|e| {
            AzureMlError::invalid_input("request", format!("cannot build a URL for '{path}': {e}"))
        })?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    /// One ARM call with the bearer, retried per the policy; a 401 makes the credential ask again once.
    async fn call(
        &self,
        op: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<BufferedResponse, AzureMlError> {
        let mut refreshed = false;
        loop {
            let bearer = self.token(&self.scope).await?;
            let resp = self
                .retry
                .execute(&self.cancel, Idempotency::Idempotent, || {
                    let mut r = self.http.request(method.clone(), url.clone());
                    if let Some(t) = &bearer {
                        r = r.bearer_auth(t);
                    }
                    for (k, v) in headers {
                        r = r.header(*k, v);
                    }
                    if let Some(b) = body {
                        r = r.json(b);
                    }
                    r
                })
                .await
                .map_err(|e| AzureMlError::from_send(op, e))?;
            if resp.status.as_u16() == 401 && bearer.is_some() && !refreshed {
                if let Some(c) = &self.credential {
                    c.invalidate(&self.scope).await;
                }
                refreshed = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// The `x-azureml-token` header for the PUT of a pipeline job (API guide §0), public cloud only. A failure to
    /// get that token is logged and the PUT goes without it.
    async fn aml_token_header(&self, request: &RestRequest) -> Vec<(&'static str, String)> {
        let is_pipeline_job = request.path.contains("/jobs/")
            && request.body["properties"]["jobType"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("pipeline"));
        if !is_pipeline_job || self.environment != AzureEnvironment::AzureCloud {
            return Vec::new();
        }
        match self.token("https://ml.azure.com/.default").await {
            Ok(Some(t)) => vec![("x-azureml-token", t)],
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("no Azure ML token for the pipeline job (x-azureml-token): {e}");
                Vec::new()
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
            let base = slug(&upload.basename);
            let name = format!("amlops-code-{}", if base.is_empty() { "root" } else { &base });
            let done = self
                .client
                .upload_code(&name, None, &upload.local_path, &options)
                .await?;
            let (name, version) = code_name_version(&done.code_id).ok_or_else(|| {
                AzureMlError::new(
                    ErrorKind::Decode,
                    "codeVersions.upload",
                    format!("bad code id '{}'", done.code_id),
                )
            })?;
            let code = self.client.get_code_version(&name, &version).await?;
            let code = to_value("codeVersions.get", &code)?;
            let code_uri = code["properties"]["codeUri"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            Ok(UploadOutcome::Code {
                name,
                version,
                code_uri,
                hash: done.hash,
            })
        } else {
            let done = self
                .client
                .upload_to_default_datastore(&upload.local_path, (&upload.basename, "1"), &options)
                .await?;
            let (datastore, account, container, path) = blob_location(&done.uri, &done.blob_folder_url)
                .ok_or_else(|| {
                    AzureMlError::new(
                        ErrorKind::Decode,
                        "datastores.upload",
                        format!("cannot read the upload location '{}'", done.uri),
                    )
                })?;
            Ok(UploadOutcome::Blob {
                datastore,
                account,
                container,
                path,
                hash: done.hash,
            })
        }
    }

    async fn latest_version(&self, asset: AssetType, name: &str) -> Result<String, AzureMlError> {
        let op = format!("{}.get", asset.collection());
        let path = format!("{}/{}/{name}", self.client.workspace_scope(), asset.collection());
        let url = self.arm_url(&path, &self.client.config().api_version)?;
        let resp = self.call(&op, Method::GET, &url, None, &[]).await?;
        if !resp.status.is_success() {
            return Err(status_error(&op, &Method::GET, &url, &resp));
        }
        let v = decode(&op, &Method::GET, &url, &resp.body)?;
        v["properties"]["latestVersion"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| AzureMlError::new(ErrorKind::Decode, op, format!("'{name}' has no latestVersion")))
    }

    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError> {
        let op = if request.path.contains("/jobs/") {
            "jobs.createOrUpdate"
        } else {
            "createOrUpdate"
        };
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| AzureMlError::invalid_input(op, format!("bad method '{}'", request.method)))?;
        let url = self.arm_url(&request.path, &request.api_version)?;
        let headers = self.aml_token_header(request).await;
        let resp = self
            .call(op, method.clone(), &url, Some(&request.body), &headers)
            .await?;
        if !resp.status.is_success() {
            return Err(status_error(op, &method, &url, &resp));
        }
        decode(op, &method, &url, &resp.body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_code_ids_and_blob_locations() {
        assert_eq!(
            code_name_version(
                "/subscriptions/s/resourceGroups/g/providers/P/workspaces/w/codes/c1/versions/ab12"
            ),
            Some(("c1".to_string(), "ab12".to_string()))
        );
        assert_eq!(code_name_version("/x/models/m/versions/1"), None);
        let uri = "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/workspaceblobstore/paths/LocalUpload/h1/data";
        assert_eq!(
            blob_location(uri, "https://acct.blob.core.windows.net/cont/LocalUpload/h1/data"),
            Some((
                "workspaceblobstore".into(),
                "acct".into(),
                "cont".into(),
                "LocalUpload/h1/data".into()
            ))
        );
        assert_eq!(
            blob_location(uri, "http://127.0.0.1:9/blob/acct/cont/LocalUpload/h1/data"),
            Some((
                "workspaceblobstore".into(),
                "acct".into(),
                "cont".into(),
                "LocalUpload/h1/data".into()
            ))
        );
    }
}
