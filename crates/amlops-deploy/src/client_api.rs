//! [`DeployApi`] over the client crate's [`AzureMlClient`].
//!
//! Two kinds of call are made here directly, over the same HTTP client, retry policy and credential, because the
//! client has no operation for them: listing an endpoint's deployments (for the clean-up), and sending the
//! dependencies rendered from a deployment YAML (anonymous environments, models) as JSON exactly as rendered.

// The client crate's error type is large; these helpers return it as the client does.
#![allow(clippy::result_large_err)]

use std::path::Path;
use std::sync::Arc;

use amlops_agent::CancellationToken;
use amlops_azureml::credential::{Credential, scope_for_resource};
use amlops_azureml::http::{Idempotency, RetryPolicy, redact_url};
use amlops_azureml::models::{DeploymentLogsRequest, EndpointAuthMode, OnlineDeployment, OnlineEndpoint};
use amlops_azureml::upload::UploadOptions;
use amlops_azureml::{AzureMlClient, AzureMlError, ClientConfig, ErrorKind, SecretSink};
use amlops_spec::{RestRequest, UploadOutcome};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::api::{DeployApi, Scored};

/// The Azure ML scope of Entra tokens for `aad_token` endpoints.
pub const AML_SCOPE: &str = "https://ml.azure.com/.default";

/// The client-crate implementation of [`DeployApi`] for one workspace and one cancellation token.
pub struct ClientDeployApi {
    client: AzureMlClient,
    http: reqwest::Client,
    retry: RetryPolicy,
    credential: Option<Arc<Credential>>,
    scope: String,
    secrets: SecretSink,
    cancel: CancellationToken,
}

impl std::fmt::Debug for ClientDeployApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientDeployApi")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
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

fn decode<T: serde::de::DeserializeOwned>(op: &str, v: &Value) -> Result<T, AzureMlError> {
    serde_json::from_value(v.clone()).map_err(|e| AzureMlError::new(ErrorKind::Decode, op, e.to_string()))
}

impl ClientDeployApi {
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
        let client = AzureMlClient::new(
            http.clone(),
            config,
            credential.clone(),
            secrets.clone(),
            cancel.clone(),
        )?;
        Ok(Self {
            client,
            http,
            retry,
            credential,
            scope,
            secrets,
            cancel,
        })
    }

    /// The workspace's ARM id.
    pub fn workspace_id_string(&self) -> String {
        self.client.workspace_scope()
    }

    /// `{ARM}/{path}?api-version={version}`.
    fn arm_url(&self, op: &str, path: &str, api_version: &str) -> Result<Url, AzureMlError> {
        let mut base = self
            .client
            .config()
            .resource_manager_url
            .trim()
            .trim_end_matches('/')
            .to_string();
        base.push('/');
        let base = Url::parse(&base).map_err(|e| AzureMlError::invalid_input(op, e.to_string()))?;
        let mut url = base
            .join(path.trim_start_matches('/'))
            .map_err(|e| AzureMlError::invalid_input(op, format!("cannot build a URL for '{path}': {e}")))?;
        url.query_pairs_mut().append_pair("api-version", api_version);
        Ok(url)
    }

    /// One ARM call with the bearer, retried per the policy (GET and PUT are idempotent); a 401 makes the
    /// credential ask again once. Returns the JSON body (`null` when empty).
    async fn arm_call(
        &self,
        op: &str,
        method: Method,
        url: &Url,
        body: Option<&Value>,
    ) -> Result<Value, AzureMlError> {
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
            if !resp.status.is_success() {
                return Err(AzureMlError::new(
                    ErrorKind::Status,
                    op,
                    format!("the service answered HTTP {}", resp.status.as_u16()),
                )
                .with_request(&method, redact_url(url))
                .with_response(resp.status.as_u16(), &resp.headers, &resp.body, false));
            }
            if resp.body.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&resp.body).map_err(|e| {
                AzureMlError::new(
                    ErrorKind::Decode,
                    op,
                    format!("the response is not valid JSON: {e}"),
                )
                .with_request(&method, redact_url(url))
            });
        }
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
        const OP: &str = "onlineDeployments.list";
        let path = format!(
            "{}/onlineEndpoints/{endpoint}/deployments",
            self.client.workspace_scope()
        );
        let url = self.arm_url(OP, &path, &self.client.config().api_version)?;
        let base = url.clone();
        let mut out = Vec::new();
        let mut next = Some(url);
        let mut pages = 0;
        while let Some(u) = next.take() {
            pages += 1;
            if pages > 1000 {
                break;
            }
            let page = self.arm_call(OP, Method::GET, &u, None).await?;
            if let Some(items) = page["value"].as_array() {
                for item in items {
                    out.push(decode::<OnlineDeployment>(OP, item)?);
                }
            }
            if let Some(link) = page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                let l = Url::parse(link)
                    .map_err(|e| AzureMlError::new(ErrorKind::Decode, OP, format!("bad nextLink: {e}")))?;
                // Never send the token to another host.
                if l.origin() != base.origin() {
                    return Err(AzureMlError::new(
                        ErrorKind::Decode,
                        OP,
                        "the nextLink points to another host",
                    ));
                }
                next = Some(l);
            }
        }
        Ok(out)
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
            EndpointAuthMode::AadToken => {
                let Some(c) = &self.credential else {
                    return Err(AzureMlError::new(
                        ErrorKind::Authentication,
                        "onlineEndpoints.invoke",
                        "the endpoint uses Entra tokens (aad_token) but the service connection has no credential",
                    ));
                };
                let t = c.token(AML_SCOPE, &self.cancel).await?;
                (self.secrets)(&t);
                Ok(t)
            }
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

    async fn upload_code(&self, folder: &Path) -> Result<UploadOutcome, AzureMlError> {
        const OP: &str = "codeVersions.upload";
        let base: String = folder
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let name = format!("amlops-code-{}", if base.is_empty() { "root" } else { &base });
        let done = self
            .client
            .upload_code(&name, None, folder, &UploadOptions::default())
            .await?;
        let (_, name, version) = versioned(&done.code_id).ok_or_else(|| {
            AzureMlError::new(ErrorKind::Decode, OP, format!("bad code id '{}'", done.code_id))
        })?;
        let code = self.client.get_code_version(&name, &version).await?;
        Ok(UploadOutcome::Code {
            code_uri: code.properties.code_uri.clone().unwrap_or_default(),
            name,
            version,
            hash: done.hash,
        })
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
                let method = Method::from_bytes(request.method.as_bytes()).map_err(|_| {
                    AzureMlError::invalid_input(OP, format!("bad method '{}'", request.method))
                })?;
                let url = self.arm_url(OP, &request.path, &request.api_version)?;
                tracing::debug!(%name, %version, "sending a dependency of the deployment");
                self.arm_call(OP, method, &url, Some(&request.body)).await?;
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
