//! Run history (details, children) and the MLflow tracking REST API (runs, metrics, params, experiments).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::app::{App, Req, Resp, json_response};
use crate::error::{ApiError, ApiResult};
use crate::store::kind;
use crate::util::{decode, now_millis};

/// Checks that `segs[start..]` begins with the workspace scope; returns the rest.
fn after_scope<'a>(app: &App, segs: &'a [&'a str], start: usize) -> Option<&'a [&'a str]> {
    let want = [
        "subscriptions",
        &app.cfg.subscription_id,
        "resourceGroups",
        &app.cfg.resource_group,
        "providers",
        "Microsoft.MachineLearningServices",
        "workspaces",
        &app.cfg.workspace,
    ];
    let got = segs.get(start..start + want.len())?;
    if got
        .iter()
        .zip(want.iter())
        .all(|(g, w)| decode(g).eq_ignore_ascii_case(w))
    {
        segs.get(start + want.len()..)
    } else {
        None
    }
}

// ----- run history ---------------------------------------------------------------------------------------

/// Routes `/history/v1.0{scope}/…`.
pub(crate) fn route_history(app: &App, req: &Req, segs: &[&str]) -> Resp {
    let Some(rest) = after_scope(app, segs, 2) else {
        return Err(ApiError::not_found("The run history scope"));
    };
    let rest: Vec<String> = rest.iter().map(|s| decode(s)).collect();
    let mut r: Vec<&str> = rest.iter().map(String::as_str).collect();
    if r.first() == Some(&"experiments") && r.len() >= 2 {
        r.drain(..2);
    }
    match (req.method.as_str(), r.as_slice()) {
        ("GET", ["runs", name] | ["runs", name, "details"]) => {
            let rec = app
                .store
                .get(kind::JOBS, name)
                .ok_or_else(|| ApiError::not_found(format!("Run '{name}'")))?;
            Ok(json_response(StatusCode::OK, &run_details(app, name, &rec)))
        }
        ("GET", ["runs", name, "children"]) => {
            if app.store.get(kind::JOBS, name).is_none() {
                return Err(ApiError::not_found(format!("Run '{name}'")));
            }
            let value: Vec<Value> = app
                .store
                .list(kind::JOBS)
                .into_iter()
                .filter(|(_, v)| v["_local"]["parent"].as_str() == Some(name))
                .map(|(k, v)| run_details(app, &k, &v))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"value": value, "continuationToken": null, "nextLink": null}),
            ))
        }
        ("POST", ["rundata"]) => {
            let body = req.json()?;
            let name = body["runId"].as_str().unwrap_or_default();
            let rec = app
                .store
                .get(kind::JOBS, name)
                .ok_or_else(|| ApiError::not_found(format!("Run '{name}'")))?;
            let mut outputs = Map::new();
            if let Some(o) = rec["properties"]["outputs"].as_object() {
                for (k, v) in o {
                    outputs.insert(
                        k.clone(),
                        json!({"assetId": v["uri"], "type": v["jobOutputType"]}),
                    );
                }
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"runMetadata": {"runId": name, "status": rec["properties"]["status"], "outputs": outputs}}),
            ))
        }
        _ => Err(ApiError::not_found(format!(
            "The run history resource '{}'",
            r.join("/")
        ))),
    }
}

fn run_details(app: &App, name: &str, rec: &Value) -> Value {
    let local = &rec["_local"];
    let error = match &local["error"] {
        Value::Object(e) => json!({"error": e, "time": local["endTime"]}),
        _ => Value::Null,
    };
    let is_pipeline = rec["properties"]["jobType"] == "Pipeline";
    json!({
        "runId": name,
        "parentRunId": local["parent"],
        "rootRunId": local["parent"].as_str().unwrap_or(name),
        "experimentId": experiment_id_by_name(app, rec["properties"]["experimentName"].as_str().unwrap_or("Default")),
        "status": rec["properties"]["status"],
        "startTimeUtc": local["startTime"],
        "endTimeUtc": local["endTime"],
        "createdUtc": local["createdAt"],
        "error": error,
        "warnings": null,
        "tags": rec["properties"]["tags"],
        "properties": {"azureml.nodeid": local["step"]},
        "displayName": rec["properties"]["displayName"],
        "runType": if is_pipeline { "azureml.PipelineRun" } else { "azureml.scriptrun" },
        "target": "local",
        "logFiles": crate::jobs::log_files(app, name),
        "inputDatasets": [],
        "outputDatasets": [],
    })
}

// ----- MLflow ----------------------------------------------------------------------------------------------

/// An MLflow-shaped error: `{"error_code","message"}`.
struct MlflowError {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({"error_code": self.code, "message": self.message})),
        )
            .into_response()
    }
}

impl From<ApiError> for MlflowError {
    fn from(e: ApiError) -> Self {
        Self {
            status: e.status,
            code: "INTERNAL_ERROR".to_owned(),
            message: e.message,
        }
    }
}

fn mlflow_error(status: StatusCode, code: &str, message: impl Into<String>) -> MlflowError {
    MlflowError {
        status,
        code: code.to_owned(),
        message: message.into(),
    }
}

fn not_found_run(id: &str) -> MlflowError {
    mlflow_error(
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Run '{id}' not found."),
    )
}

fn get_or_create_experiment(app: &App, name: &str) -> ApiResult<String> {
    if let Some(id) = experiment_id_by_name(app, name) {
        return Ok(id);
    }
    let id = crate::util::new_id();
    let now = now_millis();
    app.store.put(
        kind::MLFLOW_EXPERIMENTS,
        &id,
        json!({"experiment_id": id, "name": name, "artifact_location": "", "lifecycle_stage": "active", "tags": [], "creation_time": now, "last_update_time": now}),
    )?;
    Ok(id)
}

fn experiment_id_by_name(app: &App, name: &str) -> Option<String> {
    app.store
        .list(kind::MLFLOW_EXPERIMENTS)
        .into_iter()
        .find(|(_, v)| v["name"].as_str() == Some(name))
        .map(|(k, _)| k)
}

/// Creates the MLflow run of a job (run id = job name) if it does not exist.
pub(crate) fn ensure_run(app: &App, run_id: &str, experiment: &str, run_name: &str) -> ApiResult<()> {
    if app.store.get(kind::MLFLOW_RUNS, run_id).is_some() {
        return Ok(());
    }
    let exp = get_or_create_experiment(app, experiment)?;
    app.store.put(
        kind::MLFLOW_RUNS,
        run_id,
        new_run(run_id, &exp, run_name, "SCHEDULED", now_millis()),
    )?;
    Ok(())
}

fn new_run(run_id: &str, experiment_id: &str, run_name: &str, status: &str, start: i64) -> Value {
    json!({
        "info": {
            "run_id": run_id, "run_uuid": run_id, "run_name": run_name, "experiment_id": experiment_id,
            "user_id": "amlops-local", "status": status, "start_time": start, "end_time": null,
            "artifact_uri": format!("azureml://experiments/{experiment_id}/runs/{run_id}/artifacts"), "lifecycle_stage": "active",
        },
        "params": {}, "tags": {"mlflow.runName": run_name}, "metrics": {},
    })
}

/// Mirrors a job status on its MLflow run.
pub(crate) fn sync_job_status(app: &App, name: &str, status: &str) {
    let s = match status {
        "Running" | "Finalizing" | "CancelRequested" => "RUNNING",
        "Completed" => "FINISHED",
        "Failed" | "NotResponding" => "FAILED",
        "Canceled" => "KILLED",
        _ => "SCHEDULED",
    };
    let _ = app.store.update(kind::MLFLOW_RUNS, name, |v| {
        v["info"]["status"] = s.into();
        if matches!(s, "FINISHED" | "FAILED" | "KILLED") {
            v["info"]["end_time"] = now_millis().into();
        }
    });
}

fn latest(history: &[Value]) -> Option<&Value> {
    history.iter().max_by(|a, b| {
        let key = |m: &Value| {
            (
                m["step"].as_i64().unwrap_or(0),
                m["timestamp"].as_i64().unwrap_or(0),
            )
        };
        key(a).cmp(&key(b))
    })
}

fn run_view(run: &Value) -> Value {
    let kv = |m: &Value| -> Vec<Value> {
        m.as_object()
            .map(|o| o.iter().map(|(k, v)| json!({"key": k, "value": v})).collect())
            .unwrap_or_default()
    };
    let metrics: Vec<Value> = run["metrics"]
        .as_object()
        .map(|o| {
            o.values()
                .filter_map(|h| h.as_array().and_then(|a| latest(a)).cloned())
                .collect()
        })
        .unwrap_or_default();
    json!({
        "info": run["info"],
        "data": {"metrics": metrics, "params": kv(&run["params"]), "tags": kv(&run["tags"])},
        "inputs": {},
    })
}

fn int_field(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .or_else(|| v.as_f64().map(|f| f as i64))
}

fn metric_value(v: &Value) -> Option<Value> {
    match v {
        Value::Number(_) => Some(v.clone()),
        Value::String(s) => s
            .parse::<f64>()
            .ok()
            .map(|f| serde_json::Number::from_f64(f).map_or_else(|| Value::String(s.clone()), Value::Number)),
        _ => None,
    }
}

/// Routes `/mlflow/v{1,2}.0{scope}/api/2.0/mlflow/…`.
pub(crate) fn route_mlflow(app: &App, req: &Req, segs: &[&str]) -> Response {
    let Some(rest) = after_scope(app, segs, 2) else {
        return mlflow_error(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            "Unknown MLflow scope.",
        )
        .into_response();
    };
    let rest: Vec<&str> = match rest {
        ["api", "2.0", "mlflow", tail @ ..] | ["api", "2.0", "preview", "mlflow", tail @ ..] => tail.to_vec(),
        _ => {
            return mlflow_error(
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                "Unknown MLflow route.",
            )
            .into_response();
        }
    };
    // Parameters come from the query (GET) or the JSON body (POST).
    let mut p: Map<String, Value> = match req.json() {
        Ok(Value::Object(o)) => o,
        Ok(_) => Map::new(),
        Err(e) => {
            return mlflow_error(StatusCode::BAD_REQUEST, "MALFORMED_REQUEST", e.message).into_response();
        }
    };
    for (k, v) in &req.query {
        p.entry(k.clone()).or_insert_with(|| Value::String(v.clone()));
    }
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    let run_id = s("run_id").or_else(|| s("run_uuid")).unwrap_or_default();
    let result: Result<Value, MlflowError> = match rest.as_slice() {
        ["experiments", "get-by-name"] => {
            let name = s("experiment_name").unwrap_or_default();
            match experiment_id_by_name(app, &name)
                .and_then(|id| app.store.get(kind::MLFLOW_EXPERIMENTS, &id))
            {
                Some(e) => Ok(json!({"experiment": e})),
                None => Err(mlflow_error(
                    StatusCode::NOT_FOUND,
                    "RESOURCE_DOES_NOT_EXIST",
                    format!("Could not find experiment with name '{name}'"),
                )),
            }
        }
        ["experiments", "get"] => {
            let id = s("experiment_id").unwrap_or_default();
            match app.store.get(kind::MLFLOW_EXPERIMENTS, &id) {
                Some(e) => Ok(json!({"experiment": e})),
                None => Err(mlflow_error(
                    StatusCode::NOT_FOUND,
                    "RESOURCE_DOES_NOT_EXIST",
                    format!("No experiment '{id}'"),
                )),
            }
        }
        ["experiments", "create"] => {
            let name = s("name").unwrap_or_default();
            if name.is_empty() {
                Err(mlflow_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER_VALUE",
                    "'name' is required",
                ))
            } else if experiment_id_by_name(app, &name).is_some() {
                Err(mlflow_error(
                    StatusCode::BAD_REQUEST,
                    "RESOURCE_ALREADY_EXISTS",
                    format!("Experiment '{name}' already exists."),
                ))
            } else {
                get_or_create_experiment(app, &name)
                    .map(|id| json!({"experiment_id": id}))
                    .map_err(MlflowError::from)
            }
        }
        ["experiments", "search" | "list"] => {
            let e: Vec<Value> = app
                .store
                .list(kind::MLFLOW_EXPERIMENTS)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            Ok(json!({"experiments": e}))
        }
        ["runs", "create"] => {
            let exp = s("experiment_id").unwrap_or_default();
            let exp = if exp.is_empty() || app.store.get(kind::MLFLOW_EXPERIMENTS, &exp).is_none() {
                match get_or_create_experiment(app, "Default") {
                    Ok(id) if exp.is_empty() => id,
                    Ok(_) => {
                        return mlflow_error(
                            StatusCode::NOT_FOUND,
                            "RESOURCE_DOES_NOT_EXIST",
                            format!("No experiment '{exp}'"),
                        )
                        .into_response();
                    }
                    Err(e) => return e.into_response(),
                }
            } else {
                exp
            };
            let id = crate::util::new_id();
            let name = s("run_name").unwrap_or_else(|| id.clone());
            let start = p.get("start_time").and_then(int_field).unwrap_or_else(now_millis);
            let mut run = new_run(&id, &exp, &name, "RUNNING", start);
            if let Some(tags) = p.get("tags").and_then(Value::as_array) {
                for t in tags {
                    if let (Some(k), Some(v)) = (t["key"].as_str(), t["value"].as_str()) {
                        run["tags"][k] = v.into();
                    }
                }
            }
            match app.store.put(kind::MLFLOW_RUNS, &id, run.clone()) {
                Ok(()) => Ok(json!({"run": run_view(&run)})),
                Err(e) => Err(ApiError::from(e).into()),
            }
        }
        ["runs", "get"] => match app.store.get(kind::MLFLOW_RUNS, &run_id) {
            Some(run) => Ok(json!({"run": run_view(&run)})),
            None => Err(not_found_run(&run_id)),
        },
        ["runs", "search"] => {
            let ids: Vec<String> = p
                .get("experiment_ids")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let runs: Vec<Value> = app
                .store
                .list(kind::MLFLOW_RUNS)
                .into_iter()
                .filter(|(_, r)| {
                    ids.is_empty()
                        || r["info"]["experiment_id"]
                            .as_str()
                            .is_some_and(|e| ids.iter().any(|i| i == e))
                })
                .map(|(_, r)| run_view(&r))
                .collect();
            Ok(json!({"runs": runs}))
        }
        ["runs", "update"] => {
            let is_job = app.store.get(kind::JOBS, &run_id).is_some();
            let status = s("status");
            let end = p.get("end_time").and_then(int_field);
            let run_name = s("run_name");
            match app.store.update(kind::MLFLOW_RUNS, &run_id, |v| {
                // A job's status is the job's; scripts ending their run do not change it.
                if !is_job {
                    if let Some(st) = &status {
                        v["info"]["status"] = st.clone().into();
                    }
                    if let Some(e) = end {
                        v["info"]["end_time"] = e.into();
                    }
                }
                if let Some(n) = &run_name {
                    v["info"]["run_name"] = n.clone().into();
                }
                v["info"].clone()
            }) {
                Ok(Some(info)) => Ok(json!({"run_info": info})),
                Ok(None) => Err(not_found_run(&run_id)),
                Err(e) => Err(ApiError::from(e).into()),
            }
        }
        ["runs", "log-metric"] => log_batch(
            app,
            &run_id,
            std::slice::from_ref(&Value::Object(p.clone())),
            &[],
            &[],
        ),
        ["runs", "log-parameter"] => log_batch(
            app,
            &run_id,
            &[],
            std::slice::from_ref(&Value::Object(p.clone())),
            &[],
        ),
        ["runs", "set-tag"] => log_batch(
            app,
            &run_id,
            &[],
            &[],
            std::slice::from_ref(&Value::Object(p.clone())),
        ),
        ["runs", "log-batch"] => {
            let arr = |k: &str| p.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
            log_batch(app, &run_id, &arr("metrics"), &arr("params"), &arr("tags"))
        }
        ["metrics", "get-history"] => {
            let key = s("metric_key").unwrap_or_default();
            match app.store.get(kind::MLFLOW_RUNS, &run_id) {
                Some(run) => {
                    Ok(json!({"metrics": run["metrics"].get(&key).cloned().unwrap_or_else(|| json!([]))}))
                }
                None => Err(not_found_run(&run_id)),
            }
        }
        _ => Err(mlflow_error(
            StatusCode::NOT_FOUND,
            "ENDPOINT_NOT_FOUND",
            format!(
                "The MLflow route '{}' is not emulated by the local workspace.",
                rest.join("/")
            ),
        )),
    };
    match result {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(r) => r.into_response(),
    }
}

fn log_batch(
    app: &App,
    run_id: &str,
    metrics: &[Value],
    params: &[Value],
    tags: &[Value],
) -> Result<Value, MlflowError> {
    let mut new_metrics: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for m in metrics {
        let Some(key) = m["key"].as_str() else {
            return Err(mlflow_error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                "a metric needs 'key'",
            ));
        };
        let Some(value) = metric_value(&m["value"]) else {
            return Err(mlflow_error(
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                format!("metric '{key}' needs a numeric 'value'"),
            ));
        };
        new_metrics.entry(key.to_owned()).or_default().push(json!({
            "key": key,
            "value": value,
            "timestamp": int_field(&m["timestamp"]).unwrap_or_else(now_millis),
            "step": int_field(&m["step"]).unwrap_or(0),
        }));
    }
    let kvs = |items: &[Value], what: &str| -> Result<Vec<(String, Value)>, MlflowError> {
        items
            .iter()
            .map(|i| match i["key"].as_str() {
                Some(k) => Ok((
                    k.to_owned(),
                    Value::String(
                        i["value"]
                            .as_str()
                            .map_or_else(|| i["value"].to_string(), str::to_owned),
                    ),
                )),
                None => Err(mlflow_error(
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER_VALUE",
                    format!("a {what} needs 'key'"),
                )),
            })
            .collect()
    };
    let params = kvs(params, "param")?;
    let tags = kvs(tags, "tag")?;
    match app.store.update(kind::MLFLOW_RUNS, run_id, |v| {
        for (k, list) in new_metrics {
            if !v["metrics"][&k].is_array() {
                v["metrics"][&k] = json!([]);
            }
            if let Some(a) = v["metrics"][&k].as_array_mut() {
                a.extend(list);
            }
        }
        for (k, val) in params {
            v["params"][k] = val;
        }
        for (k, val) in tags {
            v["tags"][k] = val;
        }
    }) {
        Ok(Some(())) => Ok(json!({})),
        Ok(None) => Err(not_found_run(run_id)),
        Err(e) => Err(ApiError::from(e).into()),
    }
}
