//! [`DeployApi`] over the client crate's [`AzureMlClient`]. The dependencies rendered from a deployment YAML
//! (anonymous environments, models) are sent as JSON exactly as rendered ([`AzureMlClient::send_arm_request`]).

use std::path::{Path, PathBuf};

use amlops_azureml::models::{DeploymentLogsRequest, EndpointAuthMode, OnlineDeployment, OnlineEndpoint};
use amlops_azureml::monitor::{MetricsQuery, MetricsResponse};
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{ArmRequest, AzureMlClient, AzureMlError, ErrorKind};
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;

use crate::api::{DeployApi, Scored};

/// The Azure ML scope of Entra tokens for `aad_token` endpoints.
pub const AML_SCOPE: &str = "https://ml.azure.com/.default";

/// The client-crate implementation of [`DeployApi`] for one workspace and one cancellation token (the client's).
#[derive(Debug, Clone)]
pub struct ClientDeployApi {
    client: AzureMlClient,
}

fn not_found_is_none<T>(r: Result<T, AzureMlError>) -> Result<Option<T>, AzureMlError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `…/{collection}/{name}/versions/{version}` -> (collection, name, version).
fn versioned(path: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let n = parts.len();
    (n >= 4 && parts[n - 2].eq_ignore_ascii_case("versions")).then(|| {
        (
            parts[n - 4].to_ascii_lowercase(),
            parts[n - 3].to_string(),
            parts[n - 1].to_string(),
        )
    })
}

impl ClientDeployApi {
    /// Deployments in `client`'s workspace.
    pub fn new(client: AzureMlClient) -> Self {
        Self { client }
    }

    /// The workspace's ARM id.
    pub fn workspace_id_string(&self) -> String {
        self.client.workspace_scope()
    }
}

#[async_trait]
impl DeployApi for ClientDeployApi {
    fn workspace_id(&self) -> String {
        self.client.workspace_scope()
    }

    async fn location(&self) -> Result<String, AzureMlError> {
        let ws = self.client.get_workspace().await?;
        Ok(ws.location.unwrap_or_default())
    }

    async fn get_endpoint(&self, name: &str) -> Result<Option<OnlineEndpoint>, AzureMlError> {
        not_found_is_none(self.client.get_online_endpoint(name).await)
    }

    async fn put_endpoint(&self, name: &str, body: &OnlineEndpoint) -> Result<OnlineEndpoint, AzureMlError> {
        self.client.create_or_update_online_endpoint(name, body).await
    }

    async fn get_deployment(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<Option<OnlineDeployment>, AzureMlError> {
        not_found_is_none(self.client.get_online_deployment(endpoint, name).await)
    }

    async fn put_deployment(
        &self,
        endpoint: &str,
        name: &str,
        body: &OnlineDeployment,
    ) -> Result<OnlineDeployment, AzureMlError> {
        self.client
            .create_or_update_online_deployment(endpoint, name, body)
            .await
    }

    async fn delete_deployment(&self, endpoint: &str, name: &str) -> Result<(), AzureMlError> {
        self.client.delete_online_deployment(endpoint, name).await
    }

    async fn list_deployments(&self, endpoint: &str) -> Result<Vec<OnlineDeployment>, AzureMlError> {
        self.client.list_online_deployments(endpoint).await
    }

    async fn logs(&self, endpoint: &str, name: &str, container: &str) -> Result<String, AzureMlError> {
        let req = DeploymentLogsRequest {
            container_type: container.to_string(),
            tail: Some(300),
        };
        let logs = self.client.get_deployment_logs(endpoint, name, &req).await?;
        Ok(logs.content.unwrap_or_default())
    }

    async fn scoring_secret(&self, endpoint: &str, auth: &EndpointAuthMode) -> Result<String, AzureMlError> {
        match auth {
            EndpointAuthMode::AmlToken => {
                let t = self.client.get_endpoint_token(endpoint).await?;
                t.access_token.ok_or_else(|| {
                    AzureMlError::new(
                        ErrorKind::Decode,
                        "onlineEndpoints.getToken",
                        "the answer holds no token",
                    )
                })
            }
            EndpointAuthMode::AadToken => self.client.token_for_scope(AML_SCOPE).await?.ok_or_else(|| {
                AzureMlError::new(
                    ErrorKind::Authentication,
                    "onlineEndpoints.invoke",
                    "the endpoint uses Entra tokens (aad_token) but the service connection has no credential",
                )
            }),
            EndpointAuthMode::Key | EndpointAuthMode::Unknown(_) => {
                let keys = self.client.list_endpoint_keys(endpoint).await?;
                keys.primary_key.or(keys.secondary_key).ok_or_else(|| {
                    AzureMlError::new(
                        ErrorKind::Decode,
                        "onlineEndpoints.listKeys",
                        "the answer holds no key",
                    )
                })
            }
        }
    }

    async fn invoke(
        &self,
        uri: &str,
        secret: &str,
        deployment: &str,
        body: &Value,
    ) -> Result<Scored, AzureMlError> {
        let r = self
            .client
            .invoke_endpoint(uri, secret, Some(deployment), body)
            .await?;
        Ok(Scored {
            status: r.status.as_u16(),
            body: r.body.to_vec(),
        })
    }

    async fn upload_code(&self, folder: &Path, includes: &[PathBuf]) -> Result<UploadOutcome, AzureMlError> {
        let base: String = folder
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = format!("amlops-code-{}", if base.is_empty() { "root" } else { &base });
        let code = self
            .client
            .upload_code_asset_with_includes(&name, folder, includes, &UploadOptions::default())
            .await?;
        Ok(UploadOutcome::Code {
            code_uri: code.code_uri,
            name: code.name,
            version: code.version,
            hash: code.hash,
        })
    }

    async fn endpoint_metrics(
        &self,
        endpoint: &str,
        query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        self.client.online_endpoint_metrics(endpoint, query).await
    }

    async fn deployment_metrics(
        &self,
        endpoint: &str,
        deployment: &str,
        query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        self.client
            .online_deployment_metrics(endpoint, deployment, query)
            .await
    }

    async fn put_endpoint_observed(
        &self,
        name: &str,
        body: &OnlineEndpoint,
        accepted: &(dyn Fn() + Send + Sync),
    ) -> Result<OnlineEndpoint, AzureMlError> {
        self.client
            .create_or_update_online_endpoint_observed(name, body, accepted)
            .await
    }

    async fn set_endpoint_tags(
        &self,
        name: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AzureMlError> {
        self.client
            .update_online_endpoint(name, &serde_json::json!({ "tags": tags }))
            .await?;
        Ok(())
    }

    async fn send(&self, request: &RestRequest) -> Result<(), AzureMlError> {
        const OP: &str = "createOrUpdate";
        let Some((collection, name, version)) = versioned(&request.path) else {
            return Err(AzureMlError::invalid_input(
                OP,
                format!("no operation for '{} {}'", request.method, request.path),
            ));
        };
        match collection.as_str() {
            "codes" => {
                // `upload_code` has already created this code version (same name and content hash).
                tracing::debug!(path = %request.path, "code version created by the upload; not sent again");
            }
            "environments" | "models" | "components" => {
                // Sent as rendered (JSON-equal to the SDK's body), with the api-version the spec chose.
                tracing::debug!(%name, %version, "sending a dependency of the deployment");
                self.client
                    .send_arm_request(&ArmRequest {
                        op: OP,
                        method: &request.method,
                        path: &request.path,
                        api_version: &request.api_version,
                        body: Some(&request.body),
                        aml_token: None,
                    })
                    .await?;
            }
            other => {
                return Err(AzureMlError::invalid_input(
                    OP,
                    format!("no operation for '{other}' ({})", request.path),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versioned_paths() {
        assert_eq!(
            versioned("/subscriptions/s/resourceGroups/g/providers/P/workspaces/w/codes/c1/versions/ab12"),
            Some(("codes".into(), "c1".into(), "ab12".into()))
        );
        assert_eq!(versioned("/x/onlineEndpoints/e"), None);
    }
}
