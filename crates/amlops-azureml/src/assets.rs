//! Operations the tasks share beyond the typed per-resource ones: a request rendered elsewhere (any ARM path of
//! the workspace, its own api-version), asset containers and versions of any collection, an endpoint's
//! deployments, tokens for other scopes, and the datastore container URL.

use amlops_agent::CancellationToken;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::client::{AzureMlClient, Call};
use crate::error::{AzureMlError, ErrorKind};
use crate::hosts::CredentialKind;
use crate::models::{AssetContainer, Datastore, OnlineDeployment};

/// A request whose body and api-version were chosen by the caller (the spec crate renders them), sent to the
/// same ARM host as every other call, with the ARM bearer.
#[derive(Debug, Clone, Copy)]
pub struct ArmRequest<'a> {
    /// The operation name errors carry (`jobs.createOrUpdate`, `createOrUpdate`...).
    pub op: &'a str,
    /// `PUT`, `POST`, `PATCH`, `GET`, `DELETE`.
    pub method: &'a str,
    /// The ARM path (`/subscriptions/...`); it must stay on the ARM host.
    pub path: &'a str,
    /// The api-version.
    pub api_version: &'a str,
    /// The JSON body.
    pub body: Option<&'a Value>,
    /// The `x-azureml-token` header (pipeline and UserIdentity jobs).
    pub aml_token: Option<&'a str>,
}

impl AzureMlClient {
    /// The same client (credential, configuration, caches) observing another cancellation token, e.g. a
    /// clean-up client the task's cancellation does not stop.
    pub fn with_cancellation(&self, cancel: CancellationToken) -> Self {
        let mut c = self.clone();
        c.cancel = cancel;
        c
    }

    /// A bearer token for another scope (`https://ml.azure.com/.default`), registered as a secret; `None` when
    /// the client has no credential (loopback).
    pub async fn token_for_scope(&self, scope: &str) -> Result<Option<String>, AzureMlError> {
        match &self.credential {
            Some(c) => {
                let t = c.token(scope, &self.cancel).await?;
                (self.secrets)(&t);
                Ok(Some(t))
            }
            None => Ok(None),
        }
    }

    /// Send `request` and return its JSON answer (`null` when the body is empty). Retried per the policy, the
    /// token asked again once after a 401, non-2xx answers as [`ErrorKind::Status`].
    pub async fn send_arm_request(&self, request: &ArmRequest<'_>) -> Result<Value, AzureMlError> {
        let op = request.op;
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| AzureMlError::invalid_input(op, format!("bad method '{}'", request.method)))?;
        let path = request.path.trim_start_matches('/');
        if path.is_empty() || path.contains("://") || path.contains('?') || path.contains('#') {
            return Err(AzureMlError::invalid_input(
                op,
                format!("'{}' is not an ARM path", request.path),
            ));
        }
        let mut url = self.arm.join(path).map_err(|e| {
            AzureMlError::invalid_input(op, format!("cannot build a URL for '{}': {e}", request.path))
        })?;
        if !self.same_origin(&url) {
            return Err(AzureMlError::invalid_input(
                op,
                format!("'{}' leaves the ARM host", request.path),
            ));
        }
        url.query_pairs_mut()
            .append_pair("api-version", request.api_version);
        let mut call = Call::new(op, method.clone(), url.clone());
        if let Some(b) = request.body {
            call = call.json(b)?;
        }
        if let Some(t) = request.aml_token {
            call.headers.push(("x-azureml-token", t.to_string()));
        }
        let resp = self.call(call).await?;
        if resp.body.is_empty() {
            return Ok(Value::Null);
        }
        Self::decode(op, &method, &url, &resp, false)
    }

    /// GET an asset container of any collection (`models`, `environments`, `components`, `data`, `codes`):
    /// `latestVersion`, `nextVersion`.
    pub async fn get_asset_container(
        &self,
        collection: &str,
        name: &str,
    ) -> Result<AssetContainer, AzureMlError> {
        let op = format!("{collection}.get");
        self.get_json(&op, self.ws_url(&op, &[collection, name])?).await
    }

    /// The `latestVersion` of an asset container; a Decode error when it has none.
    pub async fn latest_asset_version(&self, collection: &str, name: &str) -> Result<String, AzureMlError> {
        let op = format!("{collection}.get");
        self.get_asset_container(collection, name)
            .await?
            .properties
            .latest_version
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AzureMlError::new(ErrorKind::Decode, op, format!("'{name}' has no latestVersion")))
    }

    /// GET one version of an asset of any collection, as JSON (`data`, `environments`, `components`...).
    pub async fn get_asset_version(
        &self,
        collection: &str,
        name: &str,
        version: &str,
    ) -> Result<Value, AzureMlError> {
        let op = format!("{collection}Versions.get");
        self.get_json(&op, self.ws_url(&op, &[collection, name, "versions", version])?)
            .await
    }

    /// List the versions of an asset of any collection, as JSON (all pages, `nextLink` kept on the ARM host).
    pub async fn list_asset_versions(
        &self,
        collection: &str,
        name: &str,
    ) -> Result<Vec<Value>, AzureMlError> {
        let op = format!("{collection}Versions.list");
        self.list(&op, self.ws_url(&op, &[collection, name, "versions"])?)
            .await
    }

    /// List an online endpoint's deployments (all pages).
    pub async fn list_online_deployments(
        &self,
        endpoint: &str,
    ) -> Result<Vec<OnlineDeployment>, AzureMlError> {
        const OP: &str = "onlineDeployments.list";
        self.list(
            OP,
            self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments"])?,
        )
        .await
    }

    /// The blob container URL of a datastore (no SAS): path-style under
    /// [`crate::ClientConfig::blob_endpoint_override`] when set, else `{properties.properties.blobEndpoint}/{container}`
    /// when the datastore advertises one (the local workspace), else
    /// `{protocol}://{accountName}.blob.{endpoint}/{container}`. `None` without account or container name.
    pub fn datastore_container_url(&self, datastore: &Datastore) -> Option<String> {
        self.datastore_container_source(datastore).map(|(url, _)| url)
    }

    /// [`AzureMlClient::datastore_container_url`], parsed and checked against the host allow-list
    /// ([`crate::hosts`]) before any SAS is asked for: a datastore whose `blobEndpoint` (or account and endpoint)
    /// names a host outside the connection's cloud fails here, naming the host and the property. `op` names the
    /// operation in errors.
    pub fn datastore_container(&self, op: &str, datastore: &Datastore) -> Result<Url, AzureMlError> {
        let name = datastore.name.as_deref().unwrap_or("workspaceblobstore");
        let (text, property) = self.datastore_container_source(datastore).ok_or_else(|| {
            AzureMlError::new(
                ErrorKind::Decode,
                op,
                format!("the datastore '{name}' is not a blob container (no account or container name)"),
            )
        })?;
        let url = crate::http::parse_checked_url(&text).map_err(|e| AzureMlError::from_url(op, e))?;
        self.check_host(
            op,
            &url,
            CredentialKind::StorageSas,
            &format!("the datastore '{name}' {property}"),
        )?;
        Ok(url)
    }

    /// The container URL and the properties it was made from.
    fn datastore_container_source(&self, datastore: &Datastore) -> Option<(String, &'static str)> {
        let p = &datastore.properties;
        let account = p.account_name.as_deref()?;
        let container = p.container_name.as_deref()?;
        let advertised = p
            .extra
            .get("properties")
            .and_then(|v| v.get("blobEndpoint"))
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        Some(match (&self.config.blob_endpoint_override, advertised) {
            (Some(base), _) => (
                format!("{}/{account}/{container}", base.trim_end_matches('/')),
                "account (under the local blob endpoint)",
            ),
            (None, Some(endpoint)) => (
                format!("{}/{container}", endpoint.trim_end_matches('/')),
                "properties.blobEndpoint",
            ),
            (None, None) => (
                format!(
                    "{}://{account}.blob.{}/{container}",
                    p.protocol.as_deref().unwrap_or("https"),
                    p.endpoint.as_deref().unwrap_or("core.windows.net")
                ),
                "accountName and endpoint",
            ),
        })
    }
}
