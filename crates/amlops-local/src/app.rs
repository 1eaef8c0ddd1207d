//! Shared server state, request dispatch, long-running operations.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::blob::Blobs;
use crate::config::LocalConfig;
use crate::error::{ApiError, ApiResult, LocalError};
use crate::scoring::Scorer;
use crate::store::{Store, kind};
use crate::util::{decode, now_rfc3339, parse_query, query_get};

/// Control of one running job.
#[derive(Clone)]
pub(crate) struct RunningJob {
    /// Cancelled to stop the job.
    pub cancel: CancellationToken,
    /// Cancelled by the runner when it has finished.
    pub done: CancellationToken,
}

pub(crate) struct App {
    pub cfg: LocalConfig,
    pub base_url: String,
    pub scope: String,
    pub store: Arc<Store>,
    pub blobs: Blobs,
    pub running: Mutex<HashMap<String, RunningJob>>,
    pub scorers: Mutex<HashMap<String, Arc<Scorer>>>,
    /// Scoring calls per minute, served as Azure Monitor metrics.
    pub metrics: crate::metrics::Book,
    pub shutdown: CancellationToken,
    pub tasks: TaskTracker,
    /// The server token and the secret that signs the URLs the server hands out.
    pub auth: crate::auth::ServerAuth,
    /// The environment of job and scoring processes: this process's, without the secrets an agent hands a task.
    pub child_env: Vec<(String, String)>,
}

/// Result of an HTTP handler.
pub(crate) type Resp = ApiResult<Response>;

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, axum::Json(body.clone())).into_response()
}

impl App {
    pub fn new(
        cfg: LocalConfig,
        base_url: String,
        auth: crate::auth::ServerAuth,
    ) -> Result<Self, LocalError> {
        let store = Arc::new(Store::open(&cfg.state_dir)?);
        let blobs = Blobs::open(store.clone(), &cfg.state_dir)?;
        let scope = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            cfg.subscription_id, cfg.resource_group, cfg.workspace
        );
        Ok(Self {
            base_url,
            scope,
            store,
            blobs,
            running: Mutex::new(HashMap::new()),
            scorers: Mutex::new(HashMap::new()),
            metrics: crate::metrics::Book::default(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            auth,
            child_env: cfg
                .parent_env
                .clone()
                .unwrap_or_else(amlops_agent::TaskEnv::from_process)
                .child_env(),
            cfg,
        })
    }

    pub fn dir(&self, rel: &str) -> PathBuf {
        self.cfg.state_dir.join(rel)
    }

    /// The ARM id of a workspace child, `rel` starting with `/`.
    pub fn arm_id(&self, rel: &str) -> String {
        format!("{}{rel}", self.scope)
    }

    pub fn system_data(created_at: &str) -> Value {
        json!({
            "createdAt": created_at, "createdBy": "amlops-local", "createdByType": "User",
            "lastModifiedAt": now_rfc3339(), "lastModifiedBy": "amlops-local", "lastModifiedByType": "User",
        })
    }

    /// A container SAS (all permissions on `container`), signed by this server and checked on access.
    pub fn container_sas(&self, container: &str) -> String {
        self.auth
            .sign(&format!("/{}/{container}", crate::blob::ACCOUNT), "c", "racwdl")
    }

    pub fn blob_base(&self) -> String {
        format!("{}/{}", self.base_url, crate::blob::ACCOUNT)
    }

    /// Sorted `(key, record)` list turned into a page: `{"value":[…],"nextLink"?}`.
    pub fn page(&self, items: Vec<Value>, uri: &Uri, query: &[(String, String)]) -> Value {
        let skip: usize = query_get(query, "$skipToken")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let top: Option<usize> = query_get(query, "$top").and_then(|v| v.parse().ok());
        let size = self.cfg.timing.page_size.max(1);
        let total = top.map_or(items.len(), |t| t.min(items.len()));
        let end = (skip + size).min(total);
        let value: Vec<Value> = items.into_iter().take(total).skip(skip).take(size).collect();
        let mut out = json!({ "value": value });
        if end < total {
            let mut q: Vec<String> = query
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("$skipToken"))
                .map(|(k, v)| format!("{}={}", crate::util::encode(k), crate::util::encode(v)))
                .collect();
            q.push(format!("$skipToken={end}"));
            out["nextLink"] = Value::String(format!("{}{}?{}", self.base_url, uri.path(), q.join("&")));
        }
        out
    }

    // ----- long-running operations --------------------------------------------------------------------

    /// Creates an operation record in progress.
    pub fn new_operation(&self, op_kind: &str, target: &str) -> ApiResult<String> {
        let id = crate::util::new_id();
        self.store.put(
            kind::OPERATIONS,
            &id,
            json!({"kind": op_kind, "target": target, "status": "InProgress", "startTime": now_rfc3339()}),
        )?;
        Ok(id)
    }

    pub fn finish_operation(&self, id: &str, result: Result<(), ApiError>) {
        let r = self.store.update(kind::OPERATIONS, id, |op| {
            op["endTime"] = Value::String(now_rfc3339());
            match &result {
                Ok(()) => op["status"] = "Succeeded".into(),
                Err(e) => {
                    op["status"] = "Failed".into();
                    op["error"] = json!({"code": e.code, "message": e.message});
                    op["httpStatus"] = e.status.as_u16().into();
                }
            }
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot record operation result");
        }
    }

    fn operation_url(&self, what: &str, id: &str, api_version: &str) -> String {
        format!(
            "{}/subscriptions/{}/providers/Microsoft.MachineLearningServices/locations/{}/{what}/{id}?api-version={api_version}",
            self.base_url, self.cfg.subscription_id, self.cfg.location
        )
    }

    fn retry_after(&self) -> String {
        self.cfg.timing.retry_after.as_secs().to_string()
    }

    /// A response with `Azure-AsyncOperation` (PUT of endpoints, deployments, schedules).
    pub fn async_op_response(
        &self,
        status: StatusCode,
        body: &Value,
        op: &str,
        api_version: &str,
    ) -> Response {
        let mut resp = json_response(status, body);
        let h = resp.headers_mut();
        if let Ok(v) = self.operation_url("mfeOperationsStatus", op, api_version).parse() {
            h.insert("azure-asyncoperation", v);
        }
        if let Ok(v) = self.retry_after().parse() {
            h.insert("retry-after", v);
        }
        resp
    }

    /// `202 Accepted` with `Location` (DELETE, job cancel, regenerateKeys).
    pub fn location_response(&self, op: &str, api_version: &str) -> Response {
        let mut resp = StatusCode::ACCEPTED.into_response();
        let h = resp.headers_mut();
        if let Ok(v) = self.operation_url("mfeOperationResults", op, api_version).parse() {
            h.insert("location", v);
        }
        if let Ok(v) = self.retry_after().parse() {
            h.insert("retry-after", v);
        }
        resp
    }

    /// Status of an operation, resolving job-bound ones from the job's state.
    fn operation_status(&self, id: &str) -> Option<Value> {
        let op = self.store.get(kind::OPERATIONS, id)?;
        if op["status"] == "InProgress" && op["kind"] == "job" {
            let job = op["target"].as_str().unwrap_or_default();
            let finished = match self.store.get(kind::JOBS, job) {
                None => true,
                Some(rec) => {
                    crate::jobs::is_terminal(rec["properties"]["status"].as_str().unwrap_or(""))
                        && !self
                            .running
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .contains_key(job)
                }
            };
            if finished {
                self.finish_operation(id, Ok(()));
                return self.store.get(kind::OPERATIONS, id);
            }
        }
        Some(op)
    }

    fn handle_operation(&self, method: &Method, what: &str, id: &str, api_version: &str) -> Resp {
        if method != Method::GET {
            return Err(method_not_allowed(method));
        }
        let op = self
            .operation_status(id)
            .ok_or_else(|| ApiError::not_found(format!("Operation '{id}'")))?;
        let status = op["status"].as_str().unwrap_or("InProgress").to_owned();
        if what.eq_ignore_ascii_case("mfeOperationsStatus") {
            let mut body = json!({
                "id": format!("/subscriptions/{}/providers/Microsoft.MachineLearningServices/locations/{}/mfeOperationsStatus/{id}", self.cfg.subscription_id, self.cfg.location),
                "name": id, "status": status, "startTime": op["startTime"],
            });
            if let Some(end) = op.get("endTime") {
                body["endTime"] = end.clone();
            }
            if let Some(err) = op.get("error") {
                body["error"] = err.clone();
            }
            let mut resp = json_response(StatusCode::OK, &body);
            if status == "InProgress"
                && let Ok(v) = self.retry_after().parse()
            {
                resp.headers_mut().insert("retry-after", v);
            }
            return Ok(resp);
        }
        match status.as_str() {
            "InProgress" => Ok(self.location_response(id, api_version)),
            "Succeeded" | "Canceled" => Ok(StatusCode::OK.into_response()),
            _ => {
                let code = op["error"]["code"].as_str().unwrap_or("InternalServerError");
                let message = op["error"]["message"].as_str().unwrap_or("The operation failed.");
                let http = op["httpStatus"]
                    .as_u64()
                    .and_then(|s| StatusCode::from_u16(s as u16).ok())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Err(ApiError::new(http, code, message))
            }
        }
    }

    // ----- lifecycle -------------------------------------------------------------------------------------

    /// Makes persisted state consistent after a restart.
    pub fn recover(self: &Arc<Self>) -> Result<(), LocalError> {
        crate::jobs::recover(self)?;
        crate::scoring::recover(self)?;
        for (id, op) in self.store.list(kind::OPERATIONS) {
            if op["status"] == "InProgress" && op["kind"] != "job" && op["kind"] != "deployment" {
                self.finish_operation(&id, Ok(()));
            }
        }
        Ok(())
    }

    /// Cancels running jobs and stops scoring processes, waiting for them.
    pub async fn stop_all(&self) {
        let jobs: Vec<RunningJob> = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for j in &jobs {
            j.cancel.cancel();
        }
        let scorers: Vec<Arc<Scorer>> = self
            .scorers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in scorers {
            s.stop(self.cfg.timing.kill_grace).await;
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

pub(crate) fn method_not_allowed(method: &Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        format!("The method {method} is not supported on this resource in the local workspace."),
    )
}

fn check_api_version(query: &[(String, String)]) -> ApiResult<String> {
    let Some(v) = query_get(query, "api-version") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    let ok = v.len() >= 10
        && v.as_bytes()[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (v.len() == 10 || v[10..].starts_with('-'));
    if !ok {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!("The api-version '{v}' is invalid. The supported versions look like '2026-07-01'."),
        ));
    }
    Ok(v.to_owned())
}

/// The request, decoded once.
pub(crate) struct Req {
    pub method: Method,
    pub uri: Uri,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn json(&self) -> ApiResult<Value> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))
    }
    pub fn q(&self, name: &str) -> Option<&str> {
        query_get(&self.query, name)
    }
}

/// The one axum handler: routes by path.
pub(crate) async fn dispatch(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = parse_query(uri.query());
    let path = uri.path().to_owned();
    let req = Req {
        method,
        uri,
        query,
        headers,
        body,
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    tracing::debug!(method = %req.method, path = %path, "request");
    if let Some(refused) = crate::auth::check_request(&app, &req, &segs) {
        return refused;
    }
    let result: Resp = match segs.first().copied() {
        Some(s) if s.eq_ignore_ascii_case("subscriptions") => route_arm(&app, &req, &segs).await,
        Some(crate::blob::ACCOUNT) => {
            let rest = path
                .trim_start_matches('/')
                .strip_prefix(crate::blob::ACCOUNT)
                .unwrap_or("");
            return crate::blob::handle(
                &app.blobs,
                &app.base_url,
                &req.method,
                rest,
                &req.query,
                &req.headers,
                req.body.clone(),
            );
        }
        Some("discovery") => Ok(json_response(StatusCode::OK, &discovery(&app))),
        Some("history") => crate::mlflow::route_history(&app, &req, &segs),
        Some("mlflow") => Ok(crate::mlflow::route_mlflow(&app, &req, &segs)),
        Some("joblogs") => crate::jobs::serve_log(&app, &req, &segs),
        Some("endpoints") => crate::scoring::route_scoring(&app, &req, &segs).await,
        _ => Err(ApiError::not_found(format!("The path '{path}'"))),
    };
    let mut resp = result.unwrap_or_else(IntoResponse::into_response);
    let request_id = uuid::Uuid::new_v4().to_string();
    let correlation = req
        .headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| request_id.clone(), str::to_owned);
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-ms-request-id", request_id),
        ("x-ms-correlation-request-id", correlation),
    ] {
        if !h.contains_key(name)
            && let Ok(v) = value.parse()
        {
            h.insert(name, v);
        }
    }
    resp
}

fn discovery(app: &App) -> Value {
    let b = &app.base_url;
    json!({
        "api": b, "catalog": b, "experimentation": b, "gallery": b, "history": b, "hyperdrive": b,
        "labeling": b, "modelmanagement": b, "pipelines": b, "studio": b,
    })
}

async fn route_arm(app: &Arc<App>, req: &Req, segs: &[&str]) -> Resp {
    let api_version = check_api_version(&req.query)?;
    let s: Vec<String> = segs.iter().map(|x| decode(x)).collect();
    let eq = |i: usize, v: &str| s.get(i).is_some_and(|x| x.eq_ignore_ascii_case(v));
    if !eq(1, &app.cfg.subscription_id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!(
                "The subscription '{}' could not be found.",
                s.get(1).map_or("", String::as_str)
            ),
        ));
    }
    // Operation status: /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{l}/{what}/{id}
    if eq(2, "providers") && eq(3, "Microsoft.MachineLearningServices") && eq(4, "locations") && s.len() == 8
    {
        return app.handle_operation(&req.method, &s[6], &s[7], &api_version);
    }
    if !(eq(2, "resourceGroups") && eq(3, &app.cfg.resource_group)) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!(
                "Resource group '{}' could not be found.",
                s.get(3).map_or("", String::as_str)
            ),
        ));
    }
    if !(eq(4, "providers")
        && eq(5, "Microsoft.MachineLearningServices")
        && eq(6, "workspaces")
        && eq(7, &app.cfg.workspace))
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{}' under resource group '{}' was not found.",
                s.get(4..).map(|x| x.join("/")).unwrap_or_default(),
                app.cfg.resource_group
            ),
        ));
    }
    // Collections and actions sit at even offsets after the workspace; names at odd ones.
    let rest: Vec<String> = s[8..]
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if i % 2 == 0 {
                x.to_ascii_lowercase()
            } else {
                x.clone()
            }
        })
        .collect();
    crate::arm::route(app, req, &rest, &api_version).await
}
