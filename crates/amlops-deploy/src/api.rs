//! The Azure ML operations the flow needs, behind a trait ([`DeployApi`]) so the flow can be tested with a fake;
//! [`crate::client_api::ClientDeployApi`] implements it with the client crate.

use std::path::{Path, PathBuf};

use amlops_azureml::AzureMlError;
use amlops_azureml::models::{EndpointAuthMode, OnlineDeployment, OnlineEndpoint};
use amlops_azureml::monitor::{MetricsQuery, MetricsResponse};
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;

/// `getLogs` container types, in the order they are printed.
pub const LOG_CONTAINERS: [&str; 2] = ["StorageInitializer", "InferenceServer"];

/// A scoring response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
}

/// Operations on one workspace. Every call observes the implementation's cancellation token.
#[async_trait]
pub trait DeployApi: Send + Sync {
    /// The workspace's ARM id.
    fn workspace_id(&self) -> String;
    /// The workspace's region (new endpoints and deployments carry it).
    async fn location(&self) -> Result<String, AzureMlError>;
    /// GET an endpoint; `None` when it does not exist.
    async fn get_endpoint(&self, name: &str) -> Result<Option<OnlineEndpoint>, AzureMlError>;
    /// PUT an endpoint and wait for the operation.
    async fn put_endpoint(&self, name: &str, body: &OnlineEndpoint) -> Result<OnlineEndpoint, AzureMlError>;
    /// GET a deployment; `None` when it does not exist.
    async fn get_deployment(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<Option<OnlineDeployment>, AzureMlError>;
    /// PUT a deployment and wait for the operation.
    async fn put_deployment(
        &self,
        endpoint: &str,
        name: &str,
        body: &OnlineDeployment,
    ) -> Result<OnlineDeployment, AzureMlError>;
    /// DELETE a deployment and wait.
    async fn delete_deployment(&self, endpoint: &str, name: &str) -> Result<(), AzureMlError>;
    /// Every deployment of the endpoint.
    async fn list_deployments(&self, endpoint: &str) -> Result<Vec<OnlineDeployment>, AzureMlError>;
    /// `getLogs` of one container.
    async fn logs(&self, endpoint: &str, name: &str, container: &str) -> Result<String, AzureMlError>;
    /// The key or token that scores against the endpoint (registered as a secret by the implementation).
    async fn scoring_secret(&self, endpoint: &str, auth: &EndpointAuthMode) -> Result<String, AzureMlError>;
    /// POST a request to the scoring URI, pinned to `deployment`.
    async fn invoke(
        &self,
        uri: &str,
        secret: &str,
        deployment: &str,
        body: &Value,
    ) -> Result<Scored, AzureMlError>;
    /// Upload a code folder as a code asset; with `includes` (a component's `additional_includes`), the snapshot
    /// also holds each of them at its root.
    async fn upload_code(&self, folder: &Path, includes: &[PathBuf]) -> Result<UploadOutcome, AzureMlError>;
    /// Send a dependency request rendered from a YAML file (code, environment or model version PUT).
    async fn send(&self, request: &RestRequest) -> Result<(), AzureMlError>;
    /// PUT an endpoint and wait for the operation, calling `accepted` as soon as the service has accepted the
    /// write (before the operation finishes; the rollback reports whether its restore was accepted). The default
    /// calls it after [`DeployApi::put_endpoint`].
    async fn put_endpoint_observed(
        &self,
        name: &str,
        body: &OnlineEndpoint,
        accepted: &(dyn Fn() + Send + Sync),
    ) -> Result<OnlineEndpoint, AzureMlError> {
        let out = self.put_endpoint(name, body).await?;
        accepted();
        Ok(out)
    }
    /// Replace the endpoint's tags (PATCH, traffic untouched) and wait for the operation. The default GETs the
    /// endpoint and PUTs it back with `tags`.
    async fn set_endpoint_tags(
        &self,
        name: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), AzureMlError> {
        let mut endpoint = self.get_endpoint(name).await?.ok_or_else(|| {
            AzureMlError::invalid_input("onlineEndpoints.get", format!("the endpoint '{name}' vanished"))
        })?;
        endpoint.tags = Some(tags.clone());
        self.put_endpoint(name, &crate::flow::for_put(endpoint)).await?;
        Ok(())
    }
    /// Azure Monitor metrics of the endpoint (canary analysis). The default answers that metrics are not
    /// available here.
    async fn endpoint_metrics(
        &self,
        endpoint: &str,
        _query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        Err(AzureMlError::invalid_input(
            "onlineEndpoints.metrics",
            format!("no metrics source for '{endpoint}'"),
        ))
    }
    /// Azure Monitor metrics of one deployment (canary analysis: CPU, memory, instances).
    async fn deployment_metrics(
        &self,
        endpoint: &str,
        deployment: &str,
        _query: &MetricsQuery<'_>,
    ) -> Result<MetricsResponse, AzureMlError> {
        Err(AzureMlError::invalid_input(
            "onlineDeployments.metrics",
            format!("no metrics source for '{endpoint}/{deployment}'"),
        ))
    }
}
