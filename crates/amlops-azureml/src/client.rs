//! [`AzureMlClient`]: the workspace-scoped Azure ML REST client.

use std::sync::Arc;
use std::time::Duration;

use amlops_agent::CancellationToken;
use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::OnceCell;
use url::Url;

use crate::credential::{Credential, scope_for_resource};
use crate::error::{AzureMlError, ErrorKind, redact_body};
use crate::hosts::{CredentialKind, HostAllowList};
use crate::http::{
    BufferedResponse, Idempotency, RetryPolicy, SecretSink, check_url, is_loopback, redact_url,
};
use crate::models::*;

/// The default api-version.
pub const DEFAULT_API_VERSION: &str = "2026-07-01";

/// How long-running operations and job waits poll.
///
/// Defaults: every 5 s (or the server's `Retry-After`, capped at 60 s), for at most 60 minutes.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// The interval when the server gives no `Retry-After`.
    pub interval: Duration,
    /// The largest interval honoured from `Retry-After`.
    pub max_interval: Duration,
    /// Give up after this long (a Timeout error).
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            timeout: Duration::from_secs(3600),
        }
    }
}

/// The workspace and service settings of a client.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The ARM URL (`https://management.azure.com/`, or a loopback URL for the local workspace).
    pub resource_manager_url: String,
    /// The resource id whose `/.default` scope ARM tokens are for (the connection's
    /// `activeDirectoryServiceEndpointResourceId`, else the ARM URL).
    pub token_resource: String,
    /// Subscription.
    pub subscription_id: String,
    /// Resource group.
    pub resource_group: String,
    /// Workspace.
    pub workspace: String,
    /// api-version (default [`DEFAULT_API_VERSION`]).
    pub api_version: String,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// LRO polling.
    pub poll: PollOptions,
    /// Writes that meet a busy resource (409, another operation in progress): [`crate::lro`].
    pub conflict: crate::lro::ConflictOptions,
    /// Local workspace only: blob URLs become `{override}/{account}/{container}/...` (path-style, like Azurite)
    /// instead of `https://{account}.blob.{endpoint}/{container}/...`.
    pub blob_endpoint_override: Option<String>,
    /// The connection's cloud: which hosts receive the token and SAS tokens ([`crate::hosts`]).
    pub cloud: amlops_agent::AzureEnvironment,
    /// Code folders and `additional_includes` must resolve inside this folder (the repository,
    /// [`crate::walk::confine`]); `None` allows any path. [`crate::connect`] sets it.
    pub code_repository: Option<std::path::PathBuf>,
}

impl ClientConfig {
    /// A config with defaults for everything but the workspace.
    pub fn new(
        resource_manager_url: &str,
        subscription_id: &str,
        resource_group: &str,
        workspace: &str,
    ) -> Self {
        Self {
            resource_manager_url: resource_manager_url.to_string(),
            token_resource: resource_manager_url.to_string(),
            subscription_id: subscription_id.to_string(),
            resource_group: resource_group.to_string(),
            workspace: workspace.to_string(),
            api_version: DEFAULT_API_VERSION.to_string(),
            retry: RetryPolicy::default(),
            poll: PollOptions::default(),
            conflict: crate::lro::ConflictOptions::default(),
            blob_endpoint_override: None,
            cloud: amlops_agent::AzureEnvironment::AzureCloud,
            code_repository: None,
        }
    }
}

impl ClientConfig {
    /// A config from an AzureRM connection: ARM URL, token resource, and the subscription (`subscription`
    /// overrides the connection's). Resource group and workspace come from task inputs.
    pub fn from_connection(
        conn: &amlops_agent::AzureRmConnection,
        subscription: Option<&str>,
        resource_group: &str,
        workspace: &str,
    ) -> Result<Self, AzureMlError> {
        let sub = subscription
            .map(str::to_string)
            .or_else(|| conn.subscription_id.clone())
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                AzureMlError::invalid_input(
                    "client",
                    format!(
                        "service connection '{}' names no subscription; give one explicitly",
                        conn.id
                    ),
                )
            })?;
        let mut c = Self::new(&conn.resource_manager_url, &sub, resource_group, workspace);
        c.token_resource = conn.resource_id.clone();
        c.cloud = conn.environment.clone();
        Ok(c)
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth<'a> {
    /// The ARM token.
    Arm,
    /// No Authorization header (SAS URLs).
    None,
    /// A given bearer value (endpoint key or token).
    Bearer(&'a str),
}

/// A request description for [`AzureMlClient::call`].
pub(crate) struct Call<'a> {
    pub op: &'a str,
    pub method: Method,
    pub url: Url,
    pub body: Option<Bytes>,
    pub content_type: Option<&'a str>,
    pub headers: Vec<(&'static str, String)>,
    pub idempotency: Idempotency,
    pub auth: Auth<'a>,
    /// The response carries secrets: no body logging, no excerpt.
    pub secret_response: bool,
    /// Statuses that are not errors besides 2xx.
    pub accept: &'a [u16],
    /// Where the URL came from (`the workspace's discoveryUrl`), named when the host allow-list refuses it;
    /// empty: the URL of the operation.
    pub property: &'a str,
}

impl<'a> Call<'a> {
    pub(crate) fn new(op: &'a str, method: Method, url: Url) -> Self {
        Self {
            op,
            method,
            url,
            body: None,
            content_type: None,
            headers: Vec::new(),
            idempotency: Idempotency::Idempotent,
            auth: Auth::Arm,
            secret_response: false,
            accept: &[],
            property: "",
        }
    }

    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self, AzureMlError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            AzureMlError::invalid_input(self.op, format!("the request body cannot be serialised: {e}"))
        })?;
        self.body = Some(Bytes::from(bytes));
        self.content_type = Some("application/json");
        Ok(self)
    }
}

/// The Azure ML client for one workspace. Cheap to clone.
///
/// Every call: `https` only (http for loopback), the ARM bearer token from the [`Credential`] (refreshed before
/// expiry, re-fetched once after a 401), retries per [`RetryPolicy`], errors as [`AzureMlError`], cancellation
/// through the token given at construction. Long-running operations are polled per [`PollOptions`].
#[derive(Clone)]
pub struct AzureMlClient {
    pub(crate) http: reqwest::Client,
    pub(crate) config: Arc<ClientConfig>,
    pub(crate) credential: Option<Arc<Credential>>,
    scope: String,
    pub(crate) arm: Url,
    pub(crate) cancel: CancellationToken,
    pub(crate) secrets: SecretSink,
    pub(crate) hosts: Arc<HostAllowList>,
    discovery: Arc<OnceCell<Url>>,
    mlflow: Arc<OnceCell<Url>>,
}

impl std::fmt::Debug for AzureMlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureMlClient")
            .field("arm", &self.arm.as_str())
            .field("workspace", &self.config.workspace)
            .field("api_version", &self.config.api_version)
            .finish_non_exhaustive()
    }
}

fn validate_name(op: &str, what: &str, value: &str) -> Result<(), AzureMlError> {
    if value.trim().is_empty() || value.contains('/') || value.contains('?') || value.contains('#') {
        return Err(AzureMlError::invalid_input(
            op,
            format!("the {what} '{value}' is empty or contains '/', '?' or '#'"),
        ));
    }
    Ok(())
}

impl AzureMlClient {
    /// Build a client. `credential` may be `None` only when the ARM URL is loopback (the local workspace, tests).
    /// `secrets` receives every key, token and SAS the client obtains.
    pub fn new(
        http: reqwest::Client,
        config: ClientConfig,
        credential: Option<Arc<Credential>>,
        secrets: SecretSink,
        cancel: CancellationToken,
    ) -> Result<Self, AzureMlError> {
        const OP: &str = "client";
        let mut arm = Url::parse(config.resource_manager_url.trim()).map_err(|e| {
            AzureMlError::invalid_input(
                OP,
                format!("the ARM URL '{}' is invalid: {e}", config.resource_manager_url),
            )
        })?;
        check_url(&arm).map_err(|e| AzureMlError::from_url(OP, e))?;
        if credential.is_none() && !is_loopback(&arm) {
            return Err(AzureMlError::new(
                ErrorKind::Authentication,
                OP,
                format!(
                    "the service connection has no credential; that is allowed only for loopback URLs (the local \
                     workspace), not for '{}'",
                    redact_url(&arm)
                ),
            ));
        }
        if !arm.path().ends_with('/') {
            let p = format!("{}/", arm.path());
            arm.set_path(&p);
        }
        for (what, v) in [
            ("subscription id", &config.subscription_id),
            ("resource group", &config.resource_group),
            ("workspace name", &config.workspace),
        ] {
            validate_name(OP, what, v)?;
        }
        let scope = scope_for_resource(&config.token_resource);
        let hosts = Arc::new(HostAllowList::new(&arm, &config.cloud));
        Ok(Self {
            http,
            config: Arc::new(config),
            credential,
            scope,
            arm,
            cancel,
            secrets,
            hosts,
            discovery: Arc::new(OnceCell::new()),
            mlflow: Arc::new(OnceCell::new()),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The shared HTTP client (for calls this client does not model).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// The cancellation token.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// `/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}`.
    pub fn workspace_scope(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.config.subscription_id, self.config.resource_group, self.config.workspace
        )
    }

    /// The ARM id of a workspace child (`["models", "m", "versions", "1"]`).
    pub fn arm_id(&self, segments: &[&str]) -> String {
        format!("{}/{}", self.workspace_scope(), segments.join("/"))
    }

    /// `{WS}/{segments...}?api-version=...`.
    pub(crate) fn ws_url(&self, op: &str, segments: &[&str]) -> Result<Url, AzureMlError> {
        for s in segments {
            validate_name(op, "name", s)?;
        }
        let mut url = self.arm.clone();
        {
            let mut p = url
                .path_segments_mut()
                .map_err(|_| AzureMlError::invalid_input(op, "bad ARM URL"))?;
            p.pop_if_empty();
            p.extend([
                "subscriptions",
                &self.config.subscription_id,
                "resourceGroups",
                &self.config.resource_group,
                "providers",
                "Microsoft.MachineLearningServices",
                "workspaces",
                &self.config.workspace,
            ]);
            p.extend(segments);
        }
        url.query_pairs_mut()
            .append_pair("api-version", &self.config.api_version);
        Ok(url)
    }

    /// The host allow-list of the connection ([`crate::hosts`]).
    pub fn host_allow_list(&self) -> &HostAllowList {
        &self.hosts
    }

    /// Refuse `url` unless the allow-list lets it receive `credential`; the error names the host and `property`
    /// (where the URL came from). Every request is checked this way before it is sent; call this earlier to fail
    /// before anything else happens (before a SAS is even asked for).
    pub fn check_host(
        &self,
        op: &str,
        url: &Url,
        credential: CredentialKind,
        property: &str,
    ) -> Result<(), AzureMlError> {
        self.hosts
            .check(url, credential, property)
            .map_err(|e| AzureMlError::invalid_input(op, e.to_string()))
    }

    pub(crate) fn same_origin(&self, url: &Url) -> bool {
        url.scheme() == self.arm.scheme()
            && url.host() == self.arm.host()
            && url.port_or_known_default() == self.arm.port_or_known_default()
    }

    /// Send a call and return the response when its status is 2xx or in `accept`.
    pub(crate) async fn call(&self, call: Call<'_>) -> Result<BufferedResponse, AzureMlError> {
        let shown = redact_url(&call.url);
        check_url(&call.url).map_err(|e| AzureMlError::from_url(call.op, e))?;
        // Endpoint keys go to the scoring URI the endpoint reports; everything else is on the allow-list.
        let credential = match call.auth {
            Auth::Arm => Some(CredentialKind::ArmToken),
            Auth::None => Some(CredentialKind::StorageSas),
            Auth::Bearer(_) => None,
        };
        if let Some(kind) = credential {
            let property = if call.property.is_empty() {
                format!("the URL of {}", call.op)
            } else {
                call.property.to_string()
            };
            self.check_host(call.op, &call.url, kind, &property)?;
        }
        let mut retried_401 = false;
        let mut conflict = crate::lro::ConflictState::default();
        loop {
            let bearer = match call.auth {
                Auth::Arm => match &self.credential {
                    Some(c) => Some(c.token(&self.scope, &self.cancel).await.map_err(|mut e| {
                        if e.operation == "authentication" {
                            e.operation = format!("{} (authentication)", call.op);
                        }
                        e
                    })?),
                    None => None,
                },
                Auth::None => None,
                Auth::Bearer(b) => Some(b.to_string()),
            };
            if let Some(b) = &call.body
                && tracing::enabled!(tracing::Level::DEBUG)
            {
                tracing::debug!(op = call.op, method = %call.method, url = %shown, body = %redact_body(&String::from_utf8_lossy(b)), "request");
            }
            let resp = self
                .config
                .retry
                .execute(&self.cancel, call.idempotency, || {
                    let mut rb = self.http.request(call.method.clone(), call.url.clone());
                    if let Some(b) = &bearer {
                        rb = rb.bearer_auth(b);
                    }
                    if let Some(ct) = call.content_type {
                        rb = rb.header(reqwest::header::CONTENT_TYPE, ct);
                    }
                    for (k, v) in &call.headers {
                        rb = rb.header(*k, v);
                    }
                    match &call.body {
                        Some(b) => rb.body(b.clone()),
                        None if call.method == Method::POST || call.method == Method::PUT => {
                            rb.header(reqwest::header::CONTENT_LENGTH, "0")
                        }
                        None => rb,
                    }
                })
                .await
                .map_err(|e| AzureMlError::from_send(call.op, e))?;
            let status = resp.status.as_u16();
            if tracing::enabled!(tracing::Level::DEBUG) {
                let body = if call.secret_response {
                    "<secret>".to_string()
                } else {
                    redact_body(&String::from_utf8_lossy(&resp.body))
                };
                tracing::debug!(op = call.op, status, request_id = ?resp.header("x-ms-request-id"), body = %body, "response");
            }
            if status == 401
                && matches!(call.auth, Auth::Arm)
                && !retried_401
                && let Some(c) = &self.credential
            {
                retried_401 = true;
                c.invalidate(&self.scope).await;
                continue;
            }
            if resp.status.is_success() || call.accept.contains(&status) {
                return Ok(resp);
            }
            // A write that meets a resource busy with another operation waits it out ([`crate::lro`]).
            if status == 409
                && matches!(call.auth, Auth::Arm)
                && self.wait_out_conflict(&call, &resp, &mut conflict).await?
            {
                continue;
            }
            let mut err = AzureMlError::new(
                ErrorKind::Status,
                call.op,
                format!("the service answered HTTP {status}"),
            )
            .with_request(&call.method, shown.clone())
            .with_response(status, &resp.headers, &resp.body, call.secret_response);
            err.attempts = Some(resp.attempts);
            return Err(err);
        }
    }

    pub(crate) fn decode<T: DeserializeOwned>(
        op: &str,
        method: &Method,
        url: &Url,
        resp: &BufferedResponse,
        secret: bool,
    ) -> Result<T, AzureMlError> {
        serde_json::from_slice(&resp.body).map_err(|e| {
            AzureMlError::new(
                ErrorKind::Decode,
                op,
                format!("the response is not the expected JSON: {e}"),
            )
            .with_request(method, redact_url(url))
            .with_response(resp.status.as_u16(), &resp.headers, &resp.body, secret)
        })
    }

    pub(crate) async fn get_json<T: DeserializeOwned>(&self, op: &str, url: Url) -> Result<T, AzureMlError> {
        let resp = self.call(Call::new(op, Method::GET, url.clone())).await?;
        Self::decode(op, &Method::GET, &url, &resp, false)
    }

    async fn put_json<B: Serialize, T: DeserializeOwned>(
        &self,
        op: &str,
        url: Url,
        body: &B,
    ) -> Result<T, AzureMlError> {
        let resp = self
            .call(Call::new(op, Method::PUT, url.clone()).json(body)?)
            .await?;
        Self::decode(op, &Method::PUT, &url, &resp, false)
    }

    pub(crate) async fn list<T: DeserializeOwned>(
        &self,
        op: &str,
        first: Url,
    ) -> Result<Vec<T>, AzureMlError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > 10_000 {
                return Err(AzureMlError::new(
                    ErrorKind::Decode,
                    op,
                    "more than 10000 pages; stopping",
                ));
            }
            let page: Page<T> = self.get_json(op, url).await?;
            out.extend(page.value);
            if let Some(link) = page.next_link.filter(|l| !l.trim().is_empty()) {
                let u = Url::parse(&link).map_err(|e| {
                    AzureMlError::new(ErrorKind::Decode, op, format!("the nextLink is not a URL: {e}"))
                })?;
                if !self.same_origin(&u) {
                    return Err(AzureMlError::new(
                        ErrorKind::Decode,
                        op,
                        format!(
                            "the nextLink '{}' points to another host; refusing to send the token there",
                            redact_url(&u)
                        ),
                    ));
                }
                next = Some(u);
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------------------------
    // §1 Workspace
    // -----------------------------------------------------------------------------------------------------------

    /// GET the workspace.
    pub async fn get_workspace(&self) -> Result<Workspace, AzureMlError> {
        self.get_json("workspaces.get", self.ws_url("workspaces.get", &[])?)
            .await
    }

    /// GET the discovery document at `discovery_url`.
    pub async fn get_discovery(&self, discovery_url: &str) -> Result<Value, AzureMlError> {
        const OP: &str = "workspaces.discovery";
        const PROPERTY: &str = "the workspace's discoveryUrl";
        let url = crate::http::parse_checked_url(discovery_url).map_err(|e| AzureMlError::from_url(OP, e))?;
        self.check_host(OP, &url, CredentialKind::ArmToken, PROPERTY)?;
        let mut call = Call::new(OP, Method::GET, url.clone());
        call.property = PROPERTY;
        let resp = self.call(call).await?;
        Self::decode(OP, &Method::GET, &url, &resp, false)
    }

    /// The data-plane base `{API}` (discovery document key `api`), looked up once.
    pub async fn data_plane_base(&self) -> Result<Url, AzureMlError> {
        const OP: &str = "workspaces.discovery";
        self.discovery
            .get_or_try_init(|| async {
                let ws = self.get_workspace().await?;
                let discovery = ws.properties.discovery_url.ok_or_else(|| {
                    AzureMlError::new(ErrorKind::Decode, OP, "the workspace has no discoveryUrl")
                })?;
                let doc = self.get_discovery(&discovery).await?;
                let api = doc.get("api").and_then(Value::as_str).ok_or_else(|| {
                    AzureMlError::new(ErrorKind::Decode, OP, "the discovery document has no 'api' key")
                })?;
                let url = crate::http::parse_checked_url(api).map_err(|e| AzureMlError::from_url(OP, e))?;
                self.check_host(
                    OP,
                    &url,
                    CredentialKind::ArmToken,
                    "the discovery document's 'api'",
                )?;
                Ok(url)
            })
            .await
            .cloned()
    }

    /// Use a known data-plane base instead of discovery (the local workspace, tests).
    pub fn set_data_plane_base(&self, base: Url) {
        let _ = self.discovery.set(base);
    }

    /// The MLflow base: `mlFlowTrackingUri` with `azureml://` → `https://` and `/mlflow/v1.0` → `/mlflow/v2.0`.
    pub async fn mlflow_base(&self) -> Result<Url, AzureMlError> {
        const OP: &str = "mlflow";
        self.mlflow
            .get_or_try_init(|| async {
                let ws = self.get_workspace().await?;
                let uri = ws.properties.ml_flow_tracking_uri.ok_or_else(|| {
                    AzureMlError::new(ErrorKind::Decode, OP, "the workspace has no mlFlowTrackingUri")
                })?;
                let url = mlflow_base_from_tracking_uri(&uri).map_err(|e| AzureMlError::from_url(OP, e))?;
                self.check_host(
                    OP,
                    &url,
                    CredentialKind::ArmToken,
                    "the workspace's mlFlowTrackingUri",
                )?;
                Ok(url)
            })
            .await
            .cloned()
    }

    /// Use a known MLflow base (the local workspace, tests).
    pub fn set_mlflow_base(&self, base: Url) {
        let _ = self.mlflow.set(base);
    }

    // -----------------------------------------------------------------------------------------------------------
    // §2 Jobs
    // -----------------------------------------------------------------------------------------------------------

    /// PUT a job (submit, or update tags). Not an LRO.
    pub async fn create_or_update_job(&self, name: &str, job: &Job) -> Result<Job, AzureMlError> {
        const OP: &str = "jobs.createOrUpdate";
        self.put_json(OP, self.ws_url(OP, &["jobs", name])?, job).await
    }

    /// PUT a pipeline or UserIdentity job with the `x-azureml-token` header (an `https://ml.azure.com` token).
    pub async fn create_or_update_job_with_aml_token(
        &self,
        name: &str,
        job: &Job,
        aml_token: &str,
    ) -> Result<Job, AzureMlError> {
        const OP: &str = "jobs.createOrUpdate";
        let url = self.ws_url(OP, &["jobs", name])?;
        let mut call = Call::new(OP, Method::PUT, url.clone()).json(job)?;
        call.headers.push(("x-azureml-token", aml_token.to_string()));
        let resp = self.call(call).await?;
        Self::decode(OP, &Method::PUT, &url, &resp, false)
    }

    /// GET a job.
    pub async fn get_job(&self, name: &str) -> Result<Job, AzureMlError> {
        const OP: &str = "jobs.get";
        self.get_json(OP, self.ws_url(OP, &["jobs", name])?).await
    }

    /// List jobs, optionally by type and tag; follows `nextLink`.
    pub async fn list_jobs(
        &self,
        job_type: Option<&str>,
        tag: Option<&str>,
    ) -> Result<Vec<Job>, AzureMlError> {
        const OP: &str = "jobs.list";
        let mut url = self.ws_url(OP, &["jobs"])?;
        if let Some(t) = job_type {
            url.query_pairs_mut().append_pair("jobType", t);
        }
        if let Some(t) = tag {
            url.query_pairs_mut().append_pair("tag", t);
        }
        self.list(OP, url).await
    }

    /// Cancel a job (POST, LRO via `Location`). Does not wait for the job to reach Canceled; see
    /// [`AzureMlClient::wait_for_job`].
    pub async fn cancel_job(&self, name: &str) -> Result<(), AzureMlError> {
        const OP: &str = "jobs.cancel";
        let resp = self
            .call(Call::new(
                OP,
                Method::POST,
                self.ws_url(OP, &["jobs", name, "cancel"])?,
            ))
            .await?;
        self.wait_for_operation(OP, &resp).await
    }

    /// Delete a job (LRO).
    pub async fn delete_job(&self, name: &str) -> Result<(), AzureMlError> {
        const OP: &str = "jobs.delete";
        self.delete_lro(OP, self.ws_url(OP, &["jobs", name])?).await
    }

    /// Poll a job until its status is terminal, calling `on_status` whenever it changes. Uses `interval` between
    /// polls (the SDK streams at 2→60 s); cancellation returns a Canceled error (the caller decides whether to
    /// cancel the job); no timeout of its own (the pipeline's step timeout applies) unless `timeout` is given.
    pub async fn wait_for_job(
        &self,
        name: &str,
        interval: Duration,
        timeout: Option<Duration>,
        mut on_status: impl FnMut(&Job) + Send,
    ) -> Result<Job, AzureMlError> {
        const OP: &str = "jobs.wait";
        let start = tokio::time::Instant::now();
        let mut last: Option<JobStatus> = None;
        loop {
            let job = self.get_job(name).await?;
            let status = job.properties.status.clone();
            if status != last {
                on_status(&job);
                last = status.clone();
            }
            if status.as_ref().is_some_and(JobStatus::is_terminal) {
                return Ok(job);
            }
            if let Some(t) = timeout
                && start.elapsed() + interval > t
            {
                return Err(AzureMlError::new(
                    ErrorKind::Timeout,
                    OP,
                    format!("job '{name}' did not finish within {} s", t.as_secs()),
                ));
            }
            self.config
                .retry
                .sleep(interval, &self.cancel)
                .await
                .map_err(|_| AzureMlError::canceled(OP))?;
        }
    }

    // -----------------------------------------------------------------------------------------------------------
    // §3 Run history, logs, MLflow
    // -----------------------------------------------------------------------------------------------------------

    fn history_url(&self, base: &Url, op: &str, tail: &[&str]) -> Result<Url, AzureMlError> {
        for s in tail {
            validate_name(op, "name", s)?;
        }
        let mut url = base.clone();
        {
            let mut p = url
                .path_segments_mut()
                .map_err(|_| AzureMlError::invalid_input(op, "bad data-plane URL"))?;
            p.pop_if_empty();
            p.extend(["history", "v1.0"]);
            p.extend(self.workspace_scope().trim_start_matches('/').split('/'));
            p.extend(tail);
        }
        Ok(url)
    }

    /// Run details: status, log file SAS URLs (registered as secrets), error.
    pub async fn get_run_details(&self, run_id: &str) -> Result<RunDetails, AzureMlError> {
        const OP: &str = "runHistory.details";
        let base = self.data_plane_base().await?;
        let url = self.history_url(&base, OP, &["runs", run_id, "details"])?;
        let mut call = Call::new(OP, Method::GET, url.clone());
        call.secret_response = true;
        let resp = self.call(call).await?;
        let details: RunDetails = Self::decode(OP, &Method::GET, &url, &resp, true)?;
        for u in details.log_files.values() {
            if let Ok(parsed) = Url::parse(u)
                && let Some(q) = parsed.query()
            {
                (self.secrets)(q);
                for (k, v) in parsed.query_pairs() {
                    if k == "sig" {
                        (self.secrets)(&v);
                    }
                }
            }
        }
        Ok(details)
    }

    /// Child runs of a pipeline job. Follows `nextLink`/`continuationToken`.
    pub async fn get_run_children(&self, run_id: &str) -> Result<Vec<Run>, AzureMlError> {
        const OP: &str = "runHistory.children";
        let base = self.data_plane_base().await?;
        let first = self.history_url(&base, OP, &["runs", run_id, "children"])?;
        let mut out = Vec::new();
        let mut url = first.clone();
        for _ in 0..10_000 {
            let v: Value = self.get_json(OP, url.clone()).await?;
            let items: Vec<Run> = serde_json::from_value(
                v.get("value").cloned().unwrap_or(Value::Array(vec![])),
            )
            .map_err(|e| AzureMlError::new(ErrorKind::Decode, OP, format!("bad children page: {e}")))?;
            out.extend(items);
            if let Some(next) = v
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                url = crate::http::parse_checked_url(next).map_err(|e| AzureMlError::from_url(OP, e))?;
                if url.host() != first.host() {
                    return Err(AzureMlError::new(
                        ErrorKind::Decode,
                        OP,
                        "the nextLink points to another host",
                    ));
                }
            } else if let Some(token) = v
                .get("continuationToken")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                url = first.clone();
                url.query_pairs_mut().append_pair("continuationToken", token);
            } else {
                return Ok(out);
            }
        }
        Ok(out)
    }

    /// Fetch a log file (SAS URL, no bearer) from byte `offset`: sends `Range: bytes={offset}-`; a 206 is the new
    /// bytes, a 200 is sliced at `offset`, a 416 means nothing new. Returns the new bytes; the next offset is
    /// `offset + bytes.len()`.
    pub async fn fetch_log(&self, sas_url: &str, offset: u64) -> Result<Bytes, AzureMlError> {
        const OP: &str = "logs.fetch";
        let url = crate::http::parse_checked_url(sas_url).map_err(|e| AzureMlError::from_url(OP, e))?;
        let mut call = Call::new(OP, Method::GET, url);
        call.auth = Auth::None;
        call.accept = &[416];
        if offset > 0 {
            call.headers.push(("range", format!("bytes={offset}-")));
        }
        let resp = self.call(call).await?;
        Ok(match resp.status.as_u16() {
            206 => resp.body,
            416 => Bytes::new(),
            _ => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(resp.body.len());
                resp.body.slice(start..)
            }
        })
    }

    fn mlflow_url(base: &Url, op: &str, route: &str) -> Result<Url, AzureMlError> {
        let mut url = base.clone();
        {
            let mut p = url
                .path_segments_mut()
                .map_err(|_| AzureMlError::invalid_input(op, "bad MLflow URL"))?;
            p.pop_if_empty();
            p.extend(["api", "2.0", "mlflow"]);
            p.extend(route.split('/'));
        }
        Ok(url)
    }

    /// MLflow `runs/get` (run id = job name).
    pub async fn mlflow_get_run(&self, run_id: &str) -> Result<MlflowRun, AzureMlError> {
        const OP: &str = "mlflow.runs.get";
        let base = self.mlflow_base().await?;
        let mut url = Self::mlflow_url(&base, OP, "runs/get")?;
        url.query_pairs_mut().append_pair("run_id", run_id);
        #[derive(serde::Deserialize)]
        struct Wrapper {
            run: MlflowRun,
        }
        let w: Wrapper = self.get_json(OP, url).await?;
        Ok(w.run)
    }

    /// MLflow `metrics/get-history` for one key, all pages.
    pub async fn mlflow_metric_history(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<MlflowMetric>, AzureMlError> {
        const OP: &str = "mlflow.metrics.getHistory";
        let base = self.mlflow_base().await?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let mut url = Self::mlflow_url(&base, OP, "metrics/get-history")?;
            url.query_pairs_mut()
                .append_pair("run_id", run_id)
                .append_pair("metric_key", key);
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("page_token", t);
            }
            #[derive(serde::Deserialize)]
            struct H {
                #[serde(default)]
                metrics: Vec<MlflowMetric>,
                #[serde(default)]
                next_page_token: Option<String>,
            }
            let h: H = self.get_json(OP, url).await?;
            out.extend(h.metrics);
            token = h.next_page_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------------------------------
    // §4 Codes and datastores
    // -----------------------------------------------------------------------------------------------------------

    /// Code versions of `name` with this content hash (hash version 202208).
    pub async fn find_code_versions_by_hash(
        &self,
        name: &str,
        hash: &str,
    ) -> Result<Vec<CodeVersion>, AzureMlError> {
        const OP: &str = "codeVersions.list";
        let mut url = self.ws_url(OP, &["codes", name, "versions"])?;
        url.query_pairs_mut()
            .append_pair("hash", hash)
            .append_pair("hashVersion", crate::upload::CONTENT_HASH_VERSION);
        self.list(OP, url).await
    }

    /// `startPendingUpload` for a code version: a container SAS (registered as a secret).
    pub async fn start_code_pending_upload(
        &self,
        name: &str,
        version: &str,
        request: &PendingUploadRequest,
    ) -> Result<PendingUpload, AzureMlError> {
        const OP: &str = "codeVersions.startPendingUpload";
        let url = self.ws_url(OP, &["codes", name, "versions", version, "startPendingUpload"])?;
        let mut call = Call::new(OP, Method::POST, url.clone()).json(request)?;
        call.secret_response = true;
        let resp = self.call(call).await?;
        let p: PendingUpload = Self::decode(OP, &Method::POST, &url, &resp, true)?;
        if let Some(sas) = p
            .blob_reference_for_consumption
            .as_ref()
            .and_then(|b| b.credential.as_ref())
            .and_then(|c| c.sas_uri.as_deref())
        {
            register_sas(&self.secrets, sas);
        }
        Ok(p)
    }

    /// PUT a code version.
    pub async fn create_or_update_code_version(
        &self,
        name: &str,
        version: &str,
        code: &CodeVersion,
    ) -> Result<CodeVersion, AzureMlError> {
        const OP: &str = "codeVersions.createOrUpdate";
        self.put_json(OP, self.ws_url(OP, &["codes", name, "versions", version])?, code)
            .await
    }

    /// GET a code version.
    pub async fn get_code_version(&self, name: &str, version: &str) -> Result<CodeVersion, AzureMlError> {
        const OP: &str = "codeVersions.get";
        self.get_json(OP, self.ws_url(OP, &["codes", name, "versions", version])?)
            .await
    }

    /// The default datastore (`GET datastores?isDefault=true`).
    pub async fn get_default_datastore(&self) -> Result<Datastore, AzureMlError> {
        const OP: &str = "datastores.list";
        let mut url = self.ws_url(OP, &["datastores"])?;
        url.query_pairs_mut().append_pair("isDefault", "true");
        let all: Vec<Datastore> = self.list(OP, url).await?;
        all.into_iter()
            .find(|d| d.properties.is_default != Some(false))
            .ok_or_else(|| AzureMlError::new(ErrorKind::Decode, OP, "the workspace has no default datastore"))
    }

    /// GET a datastore.
    pub async fn get_datastore(&self, name: &str) -> Result<Datastore, AzureMlError> {
        const OP: &str = "datastores.get";
        self.get_json(OP, self.ws_url(OP, &["datastores", name])?).await
    }

    /// `listSecrets` (body `{"expirableSecret":true,"expireAfterHours":1}` when `expirable`); the secret is
    /// registered.
    pub async fn list_datastore_secrets(
        &self,
        name: &str,
        expirable: bool,
    ) -> Result<DatastoreSecrets, AzureMlError> {
        const OP: &str = "datastores.listSecrets";
        let url = self.ws_url(OP, &["datastores", name, "listSecrets"])?;
        let mut call = Call::new(OP, Method::POST, url.clone());
        if expirable {
            call = call.json(&serde_json::json!({"expirableSecret": true, "expireAfterHours": 1}))?;
        }
        call.secret_response = true;
        let resp = self.call(call).await?;
        let s: DatastoreSecrets = Self::decode(OP, &Method::POST, &url, &resp, true)?;
        if let Some(k) = &s.key {
            (self.secrets)(k);
        }
        if let Some(t) = &s.sas_token {
            register_sas(&self.secrets, t);
        }
        Ok(s)
    }

    // -----------------------------------------------------------------------------------------------------------
    // §5 Models, environments, components
    // -----------------------------------------------------------------------------------------------------------

    /// GET a model container (`nextVersion`, `latestVersion`).
    pub async fn get_model_container(&self, name: &str) -> Result<ModelContainer, AzureMlError> {
        const OP: &str = "modelContainers.get";
        self.get_json(OP, self.ws_url(OP, &["models", name])?).await
    }

    /// PUT a model container.
    pub async fn create_or_update_model_container(
        &self,
        name: &str,
        container: &ModelContainer,
    ) -> Result<ModelContainer, AzureMlError> {
        const OP: &str = "modelContainers.createOrUpdate";
        self.put_json(OP, self.ws_url(OP, &["models", name])?, container)
            .await
    }

    /// PUT a model version.
    pub async fn create_or_update_model_version(
        &self,
        name: &str,
        version: &str,
        model: &ModelVersion,
    ) -> Result<ModelVersion, AzureMlError> {
        const OP: &str = "modelVersions.createOrUpdate";
        self.put_json(
            OP,
            self.ws_url(OP, &["models", name, "versions", version])?,
            model,
        )
        .await
    }

    /// GET a model version.
    pub async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion, AzureMlError> {
        const OP: &str = "modelVersions.get";
        self.get_json(OP, self.ws_url(OP, &["models", name, "versions", version])?)
            .await
    }

    /// List model versions (all pages).
    pub async fn list_model_versions(&self, name: &str) -> Result<Vec<ModelVersion>, AzureMlError> {
        const OP: &str = "modelVersions.list";
        self.list(OP, self.ws_url(OP, &["models", name, "versions"])?)
            .await
    }

    /// PUT an environment version.
    pub async fn create_or_update_environment_version(
        &self,
        name: &str,
        version: &str,
        env: &EnvironmentVersion,
    ) -> Result<EnvironmentVersion, AzureMlError> {
        const OP: &str = "environmentVersions.createOrUpdate";
        self.put_json(
            OP,
            self.ws_url(OP, &["environments", name, "versions", version])?,
            env,
        )
        .await
    }

    /// GET an environment version.
    pub async fn get_environment_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<EnvironmentVersion, AzureMlError> {
        const OP: &str = "environmentVersions.get";
        self.get_json(OP, self.ws_url(OP, &["environments", name, "versions", version])?)
            .await
    }

    /// PUT a component version.
    pub async fn create_or_update_component_version(
        &self,
        name: &str,
        version: &str,
        component: &ComponentVersion,
    ) -> Result<ComponentVersion, AzureMlError> {
        const OP: &str = "componentVersions.createOrUpdate";
        self.put_json(
            OP,
            self.ws_url(OP, &["components", name, "versions", version])?,
            component,
        )
        .await
    }

    /// GET a component version.
    pub async fn get_component_version(
        &self,
        name: &str,
        version: &str,
    ) -> Result<ComponentVersion, AzureMlError> {
        const OP: &str = "componentVersions.get";
        self.get_json(OP, self.ws_url(OP, &["components", name, "versions", version])?)
            .await
    }

    // -----------------------------------------------------------------------------------------------------------
    // §6 Online endpoints and deployments
    // -----------------------------------------------------------------------------------------------------------

    /// PUT an online endpoint, wait for the operation, GET it.
    pub async fn create_or_update_online_endpoint(
        &self,
        name: &str,
        endpoint: &OnlineEndpoint,
    ) -> Result<OnlineEndpoint, AzureMlError> {
        const OP: &str = "onlineEndpoints.createOrUpdate";
        self.put_lro(OP, self.ws_url(OP, &["onlineEndpoints", name])?, endpoint)
            .await
    }

    /// GET an online endpoint.
    pub async fn get_online_endpoint(&self, name: &str) -> Result<OnlineEndpoint, AzureMlError> {
        const OP: &str = "onlineEndpoints.get";
        self.get_json(OP, self.ws_url(OP, &["onlineEndpoints", name])?)
            .await
    }

    /// DELETE an online endpoint and wait.
    pub async fn delete_online_endpoint(&self, name: &str) -> Result<(), AzureMlError> {
        const OP: &str = "onlineEndpoints.delete";
        self.delete_lro(OP, self.ws_url(OP, &["onlineEndpoints", name])?)
            .await
    }

    /// `listKeys` (keys registered as secrets).
    pub async fn list_endpoint_keys(&self, name: &str) -> Result<EndpointKeys, AzureMlError> {
        const OP: &str = "onlineEndpoints.listKeys";
        let url = self.ws_url(OP, &["onlineEndpoints", name, "listKeys"])?;
        let mut call = Call::new(OP, Method::POST, url.clone());
        call.secret_response = true;
        let resp = self.call(call).await?;
        let keys: EndpointKeys = Self::decode(OP, &Method::POST, &url, &resp, true)?;
        for k in [&keys.primary_key, &keys.secondary_key].into_iter().flatten() {
            (self.secrets)(k);
        }
        Ok(keys)
    }

    /// `token` (AMLToken endpoints; registered as a secret).
    pub async fn get_endpoint_token(&self, name: &str) -> Result<EndpointToken, AzureMlError> {
        const OP: &str = "onlineEndpoints.getToken";
        let url = self.ws_url(OP, &["onlineEndpoints", name, "token"])?;
        let mut call = Call::new(OP, Method::POST, url.clone());
        call.secret_response = true;
        let resp = self.call(call).await?;
        let t: EndpointToken = Self::decode(OP, &Method::POST, &url, &resp, true)?;
        if let Some(v) = &t.access_token {
            (self.secrets)(v);
        }
        Ok(t)
    }

    /// PATCH an online endpoint (`tags`, `identity`), wait, GET it.
    pub async fn update_online_endpoint(
        &self,
        name: &str,
        patch: &Value,
    ) -> Result<OnlineEndpoint, AzureMlError> {
        const OP: &str = "onlineEndpoints.update";
        self.patch_lro(OP, self.ws_url(OP, &["onlineEndpoints", name])?, patch)
            .await
    }

    /// `regenerateKeys` (`{"keyType":"Primary"|"Secondary"}`), waiting for the operation.
    pub async fn regenerate_endpoint_keys(&self, name: &str, request: &Value) -> Result<(), AzureMlError> {
        const OP: &str = "onlineEndpoints.regenerateKeys";
        let url = self.ws_url(OP, &["onlineEndpoints", name, "regenerateKeys"])?;
        let mut call = Call::new(OP, Method::POST, url).json(request)?;
        // Regenerating twice would rotate the key twice.
        call.idempotency = Idempotency::NonIdempotent;
        let resp = self.call(call).await?;
        self.wait_for_operation(OP, &resp).await
    }

    /// PATCH an online deployment (`tags`, `sku` to scale), wait, GET it.
    pub async fn update_online_deployment(
        &self,
        endpoint: &str,
        name: &str,
        patch: &Value,
    ) -> Result<OnlineDeployment, AzureMlError> {
        const OP: &str = "onlineDeployments.update";
        self.patch_lro(
            OP,
            self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments", name])?,
            patch,
        )
        .await
    }

    /// PUT an online deployment, wait, GET it.
    pub async fn create_or_update_online_deployment(
        &self,
        endpoint: &str,
        name: &str,
        deployment: &OnlineDeployment,
    ) -> Result<OnlineDeployment, AzureMlError> {
        const OP: &str = "onlineDeployments.createOrUpdate";
        self.put_lro(
            OP,
            self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments", name])?,
            deployment,
        )
        .await
    }

    /// GET an online deployment.
    pub async fn get_online_deployment(
        &self,
        endpoint: &str,
        name: &str,
    ) -> Result<OnlineDeployment, AzureMlError> {
        const OP: &str = "onlineDeployments.get";
        self.get_json(
            OP,
            self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments", name])?,
        )
        .await
    }

    /// DELETE an online deployment and wait.
    pub async fn delete_online_deployment(&self, endpoint: &str, name: &str) -> Result<(), AzureMlError> {
        const OP: &str = "onlineDeployments.delete";
        self.delete_lro(
            OP,
            self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments", name])?,
        )
        .await
    }

    /// `getLogs` of a deployment.
    pub async fn get_deployment_logs(
        &self,
        endpoint: &str,
        name: &str,
        request: &DeploymentLogsRequest,
    ) -> Result<DeploymentLogs, AzureMlError> {
        const OP: &str = "onlineDeployments.getLogs";
        let url = self.ws_url(OP, &["onlineEndpoints", endpoint, "deployments", name, "getLogs"])?;
        let resp = self
            .call(Call::new(OP, Method::POST, url.clone()).json(request)?)
            .await?;
        Self::decode(OP, &Method::POST, &url, &resp, false)
    }

    /// POST JSON to a scoring URI with a key or token, optionally pinned to a deployment
    /// (`azureml-model-deployment`). Not retried once the request may have reached the server. Returns the response
    /// whatever its status (the caller judges scoring results); transport failures are errors.
    pub async fn invoke_endpoint(
        &self,
        scoring_uri: &str,
        key_or_token: &str,
        deployment: Option<&str>,
        body: &Value,
    ) -> Result<BufferedResponse, AzureMlError> {
        self.invoke_endpoint_with_headers(scoring_uri, key_or_token, deployment, &[], body)
            .await
    }

    /// [`Self::invoke_endpoint`] with extra request headers (such as the local workspace's
    /// `x-amlops-event-time`).
    pub async fn invoke_endpoint_with_headers(
        &self,
        scoring_uri: &str,
        key_or_token: &str,
        deployment: Option<&str>,
        headers: &[(&'static str, String)],
        body: &Value,
    ) -> Result<BufferedResponse, AzureMlError> {
        const OP: &str = "onlineEndpoints.invoke";
        let url = crate::http::parse_checked_url(scoring_uri).map_err(|e| AzureMlError::from_url(OP, e))?;
        let mut call = Call::new(OP, Method::POST, url).json(body)?;
        call.auth = Auth::Bearer(key_or_token);
        call.idempotency = Idempotency::NonIdempotent;
        call.accept = &[
            400, 401, 403, 404, 408, 409, 413, 422, 424, 429, 500, 502, 503, 504,
        ];
        if let Some(d) = deployment {
            call.headers.push(("azureml-model-deployment", d.to_string()));
        }
        call.headers.extend(headers.iter().cloned());
        self.call(call).await
    }

    // -----------------------------------------------------------------------------------------------------------
    // §8 Schedules
    // -----------------------------------------------------------------------------------------------------------

    /// PUT a schedule, wait, GET it.
    pub async fn create_or_update_schedule(
        &self,
        name: &str,
        schedule: &Schedule,
    ) -> Result<Schedule, AzureMlError> {
        const OP: &str = "schedules.createOrUpdate";
        self.put_lro(OP, self.ws_url(OP, &["schedules", name])?, schedule)
            .await
    }

    /// GET a schedule.
    pub async fn get_schedule(&self, name: &str) -> Result<Schedule, AzureMlError> {
        const OP: &str = "schedules.get";
        self.get_json(OP, self.ws_url(OP, &["schedules", name])?).await
    }
}

/// Register a SAS (URL or token): the whole query and its `sig`.
pub(crate) fn register_sas(secrets: &SecretSink, sas: &str) {
    let query = sas
        .split_once('?')
        .map_or(sas, |(_, q)| q)
        .trim_start_matches('?');
    if !query.is_empty() {
        secrets(query);
    }
    for pair in query.split('&') {
        if let Some(sig) = pair.strip_prefix("sig=") {
            secrets(sig);
            let decoded = percent_encoding::percent_decode_str(sig).decode_utf8_lossy();
            if decoded != sig {
                secrets(&decoded);
            }
        }
    }
}

/// `azureml://host/mlflow/v1.0/...` → `https://host/mlflow/v2.0/...`.
pub fn mlflow_base_from_tracking_uri(uri: &str) -> Result<Url, crate::http::UrlError> {
    let t = uri.trim();
    let t = match t.strip_prefix("azureml://") {
        Some(rest) => format!("https://{rest}"),
        None => t.to_string(),
    };
    let t = t.replacen("/mlflow/v1.0/", "/mlflow/v2.0/", 1);
    crate::http::parse_checked_url(&t)
}
