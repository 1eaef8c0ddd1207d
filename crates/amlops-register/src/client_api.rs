//! [`RegisterApi`] over the client crate's [`AzureMlClient`]: model containers and versions, datastore and code
//! uploads, MLflow metrics.
//!
//! The client has typed operations for models but none for environment, component and data containers, their
//! version lists, or for sending a request rendered by the spec crate (its own api-version); those calls are made
//! here over the same HTTP client, retry policy and credential.

// The client crate's error type is large; these helpers return it as the client does.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::Arc;

use amlops_agent::CancellationToken;
use amlops_azureml::credential::{Credential, scope_for_resource};
use amlops_azureml::http::{BufferedResponse, Idempotency, RetryPolicy, parse_checked_url, redact_url};
use amlops_azureml::models::ModelVersion;
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{AzureMlClient, AzureMlError, ClientConfig, ErrorKind, SecretSink};
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::api::{AssetVersion, RegisterApi, Uploaded};

/// The HTTP implementation of [`RegisterApi`] for one workspace.
pub struct ClientRegisterApi {
    client: AzureMlClient,
    http: reqwest::Client,
    retry: RetryPolicy,
    credential: Option<Arc<Credential>>,
    arm_base: Url,
    scope: String,
    cancel: CancellationToken,
}

impl std::fmt::Debug for ClientRegisterApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRegisterApi")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn status_error(op: &str, method: &Method, url: &Url, resp: &BufferedResponse) -> AzureMlError {
    AzureMlError::new(
        ErrorKind::Status,
        op,
        format!("the service answered HTTP {}", resp.status.as_u16()),
    )
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

/// The next version from a container: `nextVersion`, else `latestVersion + 1` when numeric, else `None`.
pub fn next_from_container(v: &Value) -> Option<String> {
    let p = &v["properties"];
    if let Some(n) = p["nextVersion"].as_str().filter(|s| !s.is_empty()) {
        return Some(n.to_string());
    }
    let latest = p["latestVersion"].as_str()?;
    latest.parse::<u64>().ok().map(|n| (n + 1).to_string())
}

/// `…/codes/{name}/versions/{version}` -> (name, version).
fn code_name_version(id: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = id.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    (n >= 4 && parts[n - 4].eq_ignore_ascii_case("codes") && parts[n - 2].eq_ignore_ascii_case("versions"))
        .then(|| (parts[n - 3].to_string(), parts[n - 1].to_string()))
}

/// The datastore, account, container and blob path of an upload: from its `azureml://…/datastores/{ds}/paths/{p}`
/// URI and its blob folder URL (`https://{account}.blob.…/{container}/{p}`, or path-style
/// `{base}/{account}/{container}/{p}` against loopback).
pub fn blob_location(uri: &str, blob_folder_url: &str) -> Option<(String, String, String, String)> {
    let (head, path) = uri.split_once("/paths/")?;
    let datastore = head.rsplit('/').next()?.to_string();
    let path = path.trim_end_matches('/').to_string();
    let url = Url::parse(blob_folder_url).ok()?;
    let segments: Vec<&str> = url.path().trim_matches('/').split('/').collect();
    let container_at = segments.len().checked_sub(path.split('/').count() + 1)?;
    let container = segments.get(container_at)?.to_string();
    let host = url.host_str()?;
    let account = match host.split_once(".blob.") {
        Some((account, _)) => account.to_string(),
        None => segments.get(container_at.checked_sub(1)?)?.to_string(),
    };
    Some((datastore, account, container, path))
}

impl ClientRegisterApi {
    /// A client for the workspace of `config`; `credential` is `None` only for loopback URLs.
    pub fn new(
        http: reqwest::Client,
        config: ClientConfig,
        credential: Option<Arc<Credential>>,
        secrets: SecretSink,
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
            cancel,
        })
    }

    /// The client crate's client.
    pub fn client(&self) -> &AzureMlClient {
        &self.client
    }

    fn arm_url(&self, path: &str, api_version: &str) -> Result<Url, AzureMlError> {
        let mut url = self.arm_base.join(path.trim_start_matches('/')).map_err(|e| {
            AzureMlError::invalid_input("request", format!("cannot build a URL for '{path}': {e}"))
        })?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    fn ws_path(&self, segments: &[&str]) -> String {
        format!("{}/{}", self.client.workspace_scope(), segments.join("/"))
    }

    /// One ARM call with the bearer, retried per the policy; a 401 makes the credential ask again once.
    async fn call(
        &self,
        op: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<BufferedResponse, AzureMlError> {
        let mut refreshed = false;
        loop {
            let bearer = match &self.credential {
                Some(c) => Some(c.token(&self.scope, &self.cancel).await?),
                None => None,
            };
            let resp = self
                .retry
                .execute(&self.cancel, Idempotency::Idempotent, || {
                    let mut r = self.http.request(method.clone(), url.clone());
                    if let Some(t) = &bearer {
                        r = r.bearer_auth(t);
                    }
                    if let Some(b) = body {
                        r = r.json(b);
                    }
                    r
                })
                .await
                .map_err(|e| AzureMlError::from_send(op, e))?;
            if resp.status.as_u16() == 401
                && !refreshed
                && let Some(c) = &self.credential
            {
                c.invalidate(&self.scope).await;
                refreshed = true;
                continue;
            }
            return Ok(resp);
        }
    }

    /// GET a JSON resource; `None` on 404.
    async fn get_optional(&self, op: &str, url: &Url) -> Result<Option<Value>, AzureMlError> {
        let resp = self.call(op, Method::GET, url, None).await?;
        if resp.status.as_u16() == 404 {
            return Ok(None);
        }
        if !resp.status.is_success() {
            return Err(status_error(op, &Method::GET, url, &resp));
        }
        decode(op, &Method::GET, url, &resp.body).map(Some)
    }

    async fn container(&self, asset: AssetType, name: &str) -> Result<Option<Value>, AzureMlError> {
        if asset == AssetType::Model {
            return match self.client.get_model_container(name).await {
                Ok(c) => to_value("modelContainers.get", &c).map(Some),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            };
        }
        let op = format!("{}.get", asset.collection());
        let url = self.arm_url(
            &self.ws_path(&[asset.collection(), name]),
            &self.client.config().api_version,
        )?;
        self.get_optional(&op, &url).await
    }
}

#[async_trait]
impl RegisterApi for ClientRegisterApi {
    async fn next_version(&self, asset: AssetType, name: &str) -> Result<Option<String>, AzureMlError> {
        Ok(self
            .container(asset, name)
            .await?
            .as_ref()
            .and_then(next_from_container))
    }

    async fn latest_version(&self, asset: AssetType, name: &str) -> Result<String, AzureMlError> {
        let op = format!("{}.get", asset.collection());
        let c = self.container(asset, name).await?;
        c.as_ref()
            .and_then(|c| c["properties"]["latestVersion"].as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                AzureMlError::new(ErrorKind::Decode, op, format!("'{name}' has no latest version"))
            })
    }

    async fn get_version(
        &self,
        asset: AssetType,
        name: &str,
        version: &str,
    ) -> Result<Option<AssetVersion>, AzureMlError> {
        if asset == AssetType::Model {
            return match self.client.get_model_version(name, version).await {
                Ok(v) => Ok(Some(AssetVersion::from_json(
                    name,
                    version,
                    &to_value("modelVersions.get", &v)?,
                ))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            };
        }
        let op = format!("{}Versions.get", asset.collection());
        let url = self.arm_url(
            &self.ws_path(&[asset.collection(), name, "versions", version]),
            &self.client.config().api_version,
        )?;
        Ok(self
            .get_optional(&op, &url)
            .await?
            .map(|v| AssetVersion::from_json(name, version, &v)))
    }

    async fn list_versions(&self, asset: AssetType, name: &str) -> Result<Vec<AssetVersion>, AzureMlError> {
        if asset == AssetType::Model {
            return match self.client.list_model_versions(name).await {
                Ok(all) => all
                    .iter()
                    .map(|v| {
                        Ok(AssetVersion::from_json(
                            name,
                            "",
                            &to_value("modelVersions.list", v)?,
                        ))
                    })
                    .collect(),
                Err(e) if e.is_not_found() => Ok(Vec::new()),
                Err(e) => Err(e),
            };
        }
        let op = format!("{}Versions.list", asset.collection());
        let mut next = Some(self.arm_url(
            &self.ws_path(&[asset.collection(), name, "versions"]),
            &self.client.config().api_version,
        )?);
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            let Some(page) = self.get_optional(&op, &url).await? else {
                return Ok(out);
            };
            for item in page["value"].as_array().into_iter().flatten() {
                out.push(AssetVersion::from_json(name, "", item));
            }
            if let Some(link) = page["nextLink"].as_str().filter(|l| !l.is_empty())
                && pages < 1000
            {
                let u = parse_checked_url(link).map_err(|e| AzureMlError::from_url(&op, e))?;
                if u.host() != self.arm_base.host()
                    || u.port_or_known_default() != self.arm_base.port_or_known_default()
                {
                    return Err(AzureMlError::new(
                        ErrorKind::Decode,
                        op,
                        "the nextLink points to another host; refusing to send the token there",
                    ));
                }
                next = Some(u);
            }
        }
        Ok(out)
    }

    async fn put_model_version(
        &self,
        name: &str,
        version: &str,
        body: &Value,
    ) -> Result<AssetVersion, AzureMlError> {
        const OP: &str = "modelVersions.createOrUpdate";
        let model: ModelVersion = serde_json::from_value(body.clone()).map_err(|e| {
            AzureMlError::invalid_input(OP, format!("the model version body is invalid: {e}"))
        })?;
        let created = self
            .client
            .create_or_update_model_version(name, version, &model)
            .await?;
        Ok(AssetVersion::from_json(name, version, &to_value(OP, &created)?))
    }

    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError> {
        let op = "createOrUpdate";
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| AzureMlError::invalid_input(op, format!("bad method '{}'", request.method)))?;
        let url = self.arm_url(&request.path, &request.api_version)?;
        let resp = self.call(op, method.clone(), &url, Some(&request.body)).await?;
        if !resp.status.is_success() {
            return Err(status_error(op, &method, &url, &resp));
        }
        decode(op, &method, &url, &resp.body)
    }

    async fn upload(&self, path: &Path, asset: (&str, &str)) -> Result<Uploaded, AzureMlError> {
        const OP: &str = "datastores.upload";
        let done = self
            .client
            .upload_to_default_datastore(path, asset, &UploadOptions::default())
            .await?;
        let (datastore, account, container, blob_path) = blob_location(&done.uri, &done.blob_folder_url)
            .ok_or_else(|| {
                AzureMlError::new(
                    ErrorKind::Decode,
                    OP,
                    format!("cannot read the upload location '{}'", done.uri),
                )
            })?;
        // A single file's URI already names the file (`LocalUpload/{hash}/{file}`).
        let uri = done.uri.trim_end_matches('/').to_string();
        Ok(Uploaded {
            uri,
            datastore,
            account,
            container,
            path: blob_path,
            hash: done.hash,
            reused: done.reused,
            files_uploaded: done.files_uploaded,
        })
    }

    async fn upload_code(&self, upload: &Upload) -> Result<UploadOutcome, AzureMlError> {
        const OP: &str = "codeVersions.upload";
        let base: String = upload
            .basename
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let name = format!("amlops-code-{}", if base.is_empty() { "root" } else { &base });
        let done = self
            .client
            .upload_code(&name, None, &upload.local_path, &UploadOptions::default())
            .await?;
        let (name, version) = code_name_version(&done.code_id).ok_or_else(|| {
            AzureMlError::new(ErrorKind::Decode, OP, format!("bad code id '{}'", done.code_id))
        })?;
        let code = to_value(OP, &self.client.get_code_version(&name, &version).await?)?;
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
    }

    async fn job_metrics(&self, job: &str) -> Result<Vec<(String, f64)>, AzureMlError> {
        match self.client.mlflow_get_run(job).await {
            Ok(run) => Ok(run.data.metrics.into_iter().map(|m| (m.key, m.value)).collect()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn next_versions() {
        assert_eq!(
            next_from_container(&json!({"properties":{"nextVersion":"4"}})).as_deref(),
            Some("4")
        );
        assert_eq!(
            next_from_container(&json!({"properties":{"latestVersion":"7"}})).as_deref(),
            Some("8")
        );
        assert_eq!(
            next_from_container(&json!({"properties":{"latestVersion":"v7"}})),
            None
        );
        assert_eq!(next_from_container(&json!({"properties":{}})), None);
    }

    #[test]
    fn locations() {
        let uri = "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/workspaceblobstore/paths/LocalUpload/h1/model";
        assert_eq!(
            blob_location(
                uri,
                "https://acct.blob.core.windows.net/cont/LocalUpload/h1/model"
            ),
            Some((
                "workspaceblobstore".into(),
                "acct".into(),
                "cont".into(),
                "LocalUpload/h1/model".into()
            ))
        );
        assert_eq!(
            blob_location(uri, "http://127.0.0.1:9/acct/cont/LocalUpload/h1/model"),
            Some((
                "workspaceblobstore".into(),
                "acct".into(),
                "cont".into(),
                "LocalUpload/h1/model".into()
            ))
        );
        assert_eq!(
            code_name_version("/x/codes/c1/versions/ab"),
            Some(("c1".into(), "ab".into()))
        );
        assert_eq!(code_name_version("/x/models/m/versions/1"), None);
    }
}
