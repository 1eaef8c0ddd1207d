//! [`RegisterApi`] over the client crate's [`AzureMlClient`]: asset containers and versions, datastore and code
//! uploads, rendered requests, MLflow metrics.

use std::path::{Path, PathBuf};

use amlops_azureml::models::ModelVersion;
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{ArmRequest, AzureMlClient, AzureMlError, ErrorKind};
use amlops_spec::{AssetType, RestRequest, Upload, UploadHashes, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;

use crate::api::{AssetVersion, RegisterApi, Uploaded};

/// The HTTP implementation of [`RegisterApi`] for one workspace.
#[derive(Debug, Clone)]
pub struct ClientRegisterApi {
    client: AzureMlClient,
}

#[allow(clippy::result_large_err)] // the client crate's error type, returned as the client does
fn to_value<T: serde::Serialize>(op: &str, v: &T) -> Result<Value, AzureMlError> {
    serde_json::to_value(v).map_err(|e| AzureMlError::new(ErrorKind::Decode, op, e.to_string()))
}

fn not_found_is_none<T>(r: Result<T, AzureMlError>) -> Result<Option<T>, AzureMlError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The client crate's §4 upload hashes for the spec crate's offline renders.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientHashes;

impl UploadHashes for ClientHashes {
    fn content_hash(&self, root: &Path, includes: &[PathBuf]) -> Result<String, String> {
        amlops_azureml::upload::content_hash_with_includes(root, includes).map_err(|e| e.to_string())
    }

    fn object_hash(&self, root: &Path) -> Result<String, String> {
        amlops_azureml::upload::object_hash(root).map_err(|e| e.to_string())
    }
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

impl ClientRegisterApi {
    /// Registrations in `client`'s workspace.
    pub fn new(client: AzureMlClient) -> Self {
        Self { client }
    }

    /// The client crate's client.
    pub fn client(&self) -> &AzureMlClient {
        &self.client
    }

    async fn container(&self, asset: AssetType, name: &str) -> Result<Option<Value>, AzureMlError> {
        let op = format!("{}.get", asset.collection());
        match not_found_is_none(self.client.get_asset_container(asset.collection(), name).await)? {
            Some(c) => to_value(&op, &c).map(Some),
            None => Ok(None),
        }
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
            return match not_found_is_none(self.client.get_model_version(name, version).await)? {
                Some(v) => Ok(Some(AssetVersion::from_json(
                    name,
                    version,
                    &to_value("modelVersions.get", &v)?,
                ))),
                None => Ok(None),
            };
        }
        Ok(not_found_is_none(
            self.client
                .get_asset_version(asset.collection(), name, version)
                .await,
        )?
        .map(|v| AssetVersion::from_json(name, version, &v)))
    }

    async fn list_versions(&self, asset: AssetType, name: &str) -> Result<Vec<AssetVersion>, AzureMlError> {
        if asset == AssetType::Model {
            return match not_found_is_none(self.client.list_model_versions(name).await)? {
                Some(all) => all
                    .iter()
                    .map(|v| {
                        Ok(AssetVersion::from_json(
                            name,
                            "",
                            &to_value("modelVersions.list", v)?,
                        ))
                    })
                    .collect(),
                None => Ok(Vec::new()),
            };
        }
        Ok(
            not_found_is_none(self.client.list_asset_versions(asset.collection(), name).await)?
                .unwrap_or_default()
                .iter()
                .map(|v| AssetVersion::from_json(name, "", v))
                .collect(),
        )
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
        self.client
            .send_arm_request(&ArmRequest {
                op: "createOrUpdate",
                method: &request.method,
                path: &request.path,
                api_version: &request.api_version,
                body: Some(&request.body),
                aml_token: None,
            })
            .await
    }

    async fn upload(&self, path: &Path, asset: (&str, &str)) -> Result<Uploaded, AzureMlError> {
        let done = self
            .client
            .upload_to_default_datastore(path, asset, &UploadOptions::default())
            .await?;
        // A single file's URI already names the file (`LocalUpload/{hash}/{file}`).
        Ok(Uploaded {
            uri: done.uri.trim_end_matches('/').to_string(),
            datastore: done.datastore,
            account: done.account,
            container: done.container,
            path: done.path,
            hash: done.hash,
            reused: done.reused,
            files_uploaded: done.files_uploaded,
        })
    }

    async fn upload_code(&self, upload: &Upload) -> Result<UploadOutcome, AzureMlError> {
        // A snapshot with `additional_includes` is uploaded as `code_with_additional_includes`; its asset is
        // still named after the code folder.
        let named = if upload.additional_includes.is_empty() {
            upload.basename.clone()
        } else {
            upload
                .local_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let base: String = named
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
        let code = self
            .client
            .upload_code_asset_with_includes(
                &name,
                &upload.local_path,
                &upload.additional_includes,
                &UploadOptions::default(),
            )
            .await?;
        Ok(UploadOutcome::Code {
            name: code.name,
            version: code.version,
            code_uri: code.code_uri,
            hash: code.hash,
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
}
