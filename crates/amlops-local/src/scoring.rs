//! Online endpoints and deployments: ARM routes, provisioning through the LRO flow, and scoring through a
//! Python driver that runs the deployment's script under the `init()`/`run(raw_data)` contract.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::app::{App, Req, Resp, json_response};
use crate::error::ApiError;
use crate::store::kind;
use crate::util::now_rfc3339;

const DRIVER: &str = include_str!("scoring_driver.py");

fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=32).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

fn name_error(what: &str, name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "The {what} name '{name}' is invalid: 3 to 32 characters, starting with a letter, then letters, digits and '-', not ending with '-'."
    ))
}

fn dep_key(ep: &str, dep: &str) -> String {
    format!("{ep}/{dep}")
}

fn public(rec: &Value) -> Value {
    let mut v = rec.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("_local");
    }
    v
}

/// An endpoint as served: URLs follow the server's current address (the port may change across restarts).
fn endpoint_view(app: &App, rec: &Value) -> Value {
    let mut v = public(rec);
    if let Some(ep) = rec["name"].as_str() {
        v["properties"]["scoringUri"] = format!("{}/endpoints/{ep}/score", app.base_url).into();
        v["properties"]["swaggerUri"] = format!("{}/endpoints/{ep}/swagger.json", app.base_url).into();
    }
    v
}

fn set_state(app: &App, kind_: &str, key: &str, state: &str) {
    let _ = app.store.update(kind_, key, |v| {
        v["properties"]["provisioningState"] = state.into();
        v["systemData"]["lastModifiedAt"] = now_rfc3339().into();
    });
}

fn new_key() -> String {
    format!("{}{}", crate::util::new_id(), crate::util::new_id())
}

pub(crate) async fn route_arm(app: &Arc<App>, req: &Req, r: &[&str], api_version: &str) -> Resp {
    match (req.method.as_str(), &r[1..]) {
        ("GET", []) => {
            let items = app
                .store
                .list(kind::ENDPOINTS)
                .into_iter()
                .map(|(_, v)| endpoint_view(app, &v))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [ep]) => Ok(json_response(
            StatusCode::OK,
            &endpoint_view(app, &endpoint(app, ep)?),
        )),
        ("PUT", [ep]) => put_endpoint(app, req, ep, api_version),
        ("PATCH", [ep]) => {
            endpoint(app, ep)?;
            let body = req.json()?;
            let out = app.store.update(kind::ENDPOINTS, ep, |v| {
                for f in ["tags", "identity"] {
                    if let Some(x) = body.get(f) {
                        v[f] = x.clone();
                    }
                }
                endpoint_view(app, v)
            })?;
            Ok(json_response(StatusCode::OK, &out.unwrap_or_default()))
        }
        ("DELETE", [ep]) => delete_endpoint(app, ep, api_version),
        ("POST", [ep, "listkeys"]) => {
            endpoint(app, ep)?;
            let k = app.store.get(kind::ENDPOINT_KEYS, ep).unwrap_or_default();
            Ok(json_response(
                StatusCode::OK,
                &json!({"primaryKey": k["primaryKey"], "secondaryKey": k["secondaryKey"]}),
            ))
        }
        ("POST", [ep, "token"]) => {
            endpoint(app, ep)?;
            let token = new_key();
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            app.store.update(kind::ENDPOINT_KEYS, ep, |k| {
                if !k["tokens"].is_array() {
                    k["tokens"] = json!([]);
                }
                if let Some(a) = k["tokens"].as_array_mut() {
                    // Checked on scoring until it expires (crate::auth::scoring_authorised).
                    a.push(json!({"token": token, "expiresOn": now + 3600}));
                    let excess = a.len().saturating_sub(50);
                    a.drain(..excess);
                }
            })?;
            Ok(json_response(
                StatusCode::OK,
                &json!({"accessToken": token, "expiryTimeUtc": now + 3600, "refreshAfterTimeUtc": now + 1800, "tokenType": "Bearer"}),
            ))
        }
        ("POST", [ep, "regeneratekeys"]) => {
            endpoint(app, ep)?;
            let body = req.json()?;
            let field = match body["keyType"].as_str() {
                Some("Primary") => "primaryKey",
                Some("Secondary") => "secondaryKey",
                _ => {
                    return Err(ApiError::bad_request(
                        "'keyType' must be 'Primary' or 'Secondary'.",
                    ));
                }
            };
            let value = body["keyValue"].as_str().map_or_else(new_key, str::to_owned);
            app.store
                .update(kind::ENDPOINT_KEYS, ep, |k| k[field] = value.into())?;
            let op = app.new_operation("keys", ep)?;
            app.finish_operation(&op, Ok(()));
            Ok(app.location_response(&op, api_version))
        }
        ("GET", [ep, "deployments"]) => {
            endpoint(app, ep)?;
            let items = app
                .store
                .list_prefix(kind::DEPLOYMENTS, &format!("{ep}/"))
                .into_iter()
                .map(|(_, v)| public(&v))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [ep, "deployments", dep]) => {
            Ok(json_response(StatusCode::OK, &public(&deployment(app, ep, dep)?)))
        }
        ("PUT", [ep, "deployments", dep]) => put_deployment(app, req, ep, dep, api_version),
        ("PATCH", [ep, "deployments", dep]) => {
            deployment(app, ep, dep)?;
            let body = req.json()?;
            let out = app.store.update(kind::DEPLOYMENTS, &dep_key(ep, dep), |v| {
                for f in ["tags", "sku"] {
                    if let Some(x) = body.get(f) {
                        v[f] = x.clone();
                    }
                }
                public(v)
            })?;
            Ok(json_response(StatusCode::OK, &out.unwrap_or_default()))
        }
        ("DELETE", [ep, "deployments", dep]) => delete_deployment(app, ep, dep, api_version),
        ("POST", [ep, "deployments", dep, "getlogs"]) => {
            deployment(app, ep, dep)?;
            let body = req.json()?;
            let file = match body["containerType"].as_str().unwrap_or("InferenceServer") {
                "StorageInitializer" => "storage_initializer.log",
                _ => "inference_server.log",
            };
            let text = std::fs::read_to_string(dep_dir(app, ep, dep).join(file)).unwrap_or_default();
            let content = match body["tail"].as_u64().filter(|t| *t > 0) {
                Some(n) => {
                    let lines: Vec<&str> = text.lines().collect();
                    let start = lines
                        .len()
                        .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
                    lines[start..].join("\n")
                }
                None => text,
            };
            Ok(json_response(StatusCode::OK, &json!({"content": content})))
        }
        _ => Err(ApiError::not_found(format!("The resource '{}'", r.join("/")))),
    }
}

fn endpoint(app: &App, ep: &str) -> Result<Value, ApiError> {
    app.store
        .get(kind::ENDPOINTS, ep)
        .ok_or_else(|| ApiError::not_found(format!("Online endpoint '{ep}'")))
}

fn deployment(app: &App, ep: &str, dep: &str) -> Result<Value, ApiError> {
    endpoint(app, ep)?;
    app.store
        .get(kind::DEPLOYMENTS, &dep_key(ep, dep))
        .ok_or_else(|| ApiError::not_found(format!("Online deployment '{dep}' of endpoint '{ep}'")))
}

fn dep_dir(app: &App, ep: &str, dep: &str) -> std::path::PathBuf {
    app.dir(&format!("deployments/{ep}/{dep}"))
}

fn require_location(body: &Value) -> Result<String, ApiError> {
    body["location"]
        .as_str()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "LocationRequired",
                "The location property is required for this definition.",
            )
        })
}

fn put_endpoint(app: &Arc<App>, req: &Req, ep: &str, api_version: &str) -> Resp {
    if !valid_name(ep) {
        return Err(name_error("endpoint", ep));
    }
    let body = req.json()?;
    let location = require_location(&body)?;
    let Some(props) = body.get("properties").filter(|p| p.is_object()) else {
        return Err(ApiError::bad_request(
            "The request body must have a 'properties' object.",
        ));
    };
    let auth = props["authMode"].as_str().unwrap_or_default();
    if !matches!(auth, "Key" | "AMLToken" | "AADToken") {
        return Err(ApiError::bad_request(format!(
            "'properties.authMode' must be Key, AMLToken or AADToken (got '{auth}')."
        )));
    }
    let traffic = props.get("traffic").cloned().unwrap_or_else(|| json!({}));
    validate_traffic(app, ep, &traffic)?;
    let existing = app.store.get(kind::ENDPOINTS, ep);
    let created = existing
        .as_ref()
        .and_then(|v| v["systemData"]["createdAt"].as_str().map(str::to_owned))
        .unwrap_or_else(now_rfc3339);
    let mut p = props.clone();
    p["traffic"] = traffic;
    if p.get("mirrorTraffic").is_none() {
        p["mirrorTraffic"] = json!({});
    }
    if p.get("publicNetworkAccess").is_none() {
        p["publicNetworkAccess"] = "Enabled".into();
    }
    p["scoringUri"] = format!("{}/endpoints/{ep}/score", app.base_url).into();
    p["swaggerUri"] = format!("{}/endpoints/{ep}/swagger.json", app.base_url).into();
    p["provisioningState"] = if existing.is_some() {
        "Updating"
    } else {
        "Creating"
    }
    .into();
    let rec = json!({
        "id": app.arm_id(&format!("/onlineEndpoints/{ep}")),
        "name": ep,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
        "location": location,
        "kind": body["kind"].as_str().unwrap_or("Managed"),
        "tags": body.get("tags").cloned().unwrap_or_else(|| json!({})),
        "identity": body.get("identity").cloned().unwrap_or_else(|| json!({"type": "SystemAssigned", "principalId": "00000000-0000-0000-0000-000000000000", "tenantId": "00000000-0000-0000-0000-000000000000"})),
        "properties": p,
        "systemData": App::system_data(&created),
    });
    app.store.put(kind::ENDPOINTS, ep, rec.clone())?;
    if app.store.get(kind::ENDPOINT_KEYS, ep).is_none() {
        app.store.put(
            kind::ENDPOINT_KEYS,
            ep,
            json!({"primaryKey": new_key(), "secondaryKey": new_key(), "tokens": []}),
        )?;
    }
    let op = app.new_operation("endpoint", ep)?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let resp = app.async_op_response(status, &endpoint_view(app, &rec), &op, api_version);
    let app2 = app.clone();
    let ep = ep.to_owned();
    app.tasks.spawn(async move {
        tokio::time::sleep(app2.cfg.timing.provisioning_delay).await;
        set_state(&app2, kind::ENDPOINTS, &ep, "Succeeded");
        app2.finish_operation(&op, Ok(()));
    });
    Ok(resp)
}

fn validate_traffic(app: &App, ep: &str, traffic: &Value) -> Result<(), ApiError> {
    let Some(t) = traffic.as_object() else {
        return Err(ApiError::bad_request(
            "'properties.traffic' must be an object of deployment name to percent.",
        ));
    };
    let mut sum = 0u64;
    for (dep, v) in t {
        let Some(n) = v.as_u64().filter(|n| *n <= 100) else {
            return Err(ApiError::bad_request(format!(
                "Traffic for deployment '{dep}' must be an integer from 0 to 100."
            )));
        };
        if app.store.get(kind::DEPLOYMENTS, &dep_key(ep, dep)).is_none() {
            return Err(ApiError::bad_request(format!(
                "Traffic rule refers to deployment '{dep}', which does not exist on endpoint '{ep}'."
            )));
        }
        sum += n;
    }
    if !t.is_empty() && sum != 0 && sum != 100 {
        return Err(ApiError::bad_request(format!(
            "Traffic values must add up to 0 or 100 (they add up to {sum})."
        )));
    }
    Ok(())
}

fn delete_endpoint(app: &Arc<App>, ep: &str, api_version: &str) -> Resp {
    if app.store.get(kind::ENDPOINTS, ep).is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    set_state(app, kind::ENDPOINTS, ep, "Deleting");
    let op = app.new_operation("endpoint-delete", ep)?;
    let resp = app.location_response(&op, api_version);
    let app2 = app.clone();
    let ep = ep.to_owned();
    app.tasks.spawn(async move {
        tokio::time::sleep(app2.cfg.timing.provisioning_delay).await;
        let mut result = Ok(());
        for (key, _) in app2.store.list_prefix(kind::DEPLOYMENTS, &format!("{ep}/")) {
            stop_scorer(&app2, &key).await;
            if let Err(e) = app2.store.delete(kind::DEPLOYMENTS, &key) {
                result = Err(ApiError::from(e));
            }
        }
        let _ = std::fs::remove_dir_all(app2.dir(&format!("deployments/{ep}")));
        for k in [kind::ENDPOINTS, kind::ENDPOINT_KEYS] {
            if let Err(e) = app2.store.delete(k, &ep) {
                result = Err(ApiError::from(e));
            }
        }
        app2.finish_operation(&op, result);
    });
    Ok(resp)
}

fn put_deployment(app: &Arc<App>, req: &Req, ep: &str, dep: &str, api_version: &str) -> Resp {
    endpoint(app, ep)?;
    if !valid_name(dep) {
        return Err(name_error("deployment", dep));
    }
    let body = req.json()?;
    let location = require_location(&body)?;
    let Some(props) = body.get("properties").filter(|p| p.is_object()) else {
        return Err(ApiError::bad_request(
            "The request body must have a 'properties' object.",
        ));
    };
    if props["endpointComputeType"].as_str().is_none() {
        return Err(ApiError::bad_request(
            "'properties.endpointComputeType' is required (Managed).",
        ));
    }
    let key = dep_key(ep, dep);
    let existing = app.store.get(kind::DEPLOYMENTS, &key);
    if existing.as_ref().is_some_and(|v| {
        matches!(
            v["properties"]["provisioningState"].as_str(),
            Some("Creating" | "Updating" | "Deleting")
        )
    }) {
        return Err(ApiError::conflict(format!(
            "Deployment '{dep}' of endpoint '{ep}' has an operation in progress; retry when it has finished."
        )));
    }
    let created = existing
        .as_ref()
        .and_then(|v| v["systemData"]["createdAt"].as_str().map(str::to_owned))
        .unwrap_or_else(now_rfc3339);
    let mut p = props.clone();
    p["provisioningState"] = if existing.is_some() {
        "Updating"
    } else {
        "Creating"
    }
    .into();
    if p.get("scaleSettings").is_none() {
        p["scaleSettings"] = json!({"scaleType": "Default"});
    }
    let rec = json!({
        "id": app.arm_id(&format!("/onlineEndpoints/{ep}/deployments/{dep}")),
        "name": dep,
        "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
        "location": location,
        "kind": body["kind"].as_str().unwrap_or("Managed"),
        "tags": body.get("tags").cloned().unwrap_or_else(|| json!({})),
        "sku": body.get("sku").cloned().unwrap_or_else(|| json!({"name": "Default", "capacity": 1})),
        "properties": p,
        "systemData": App::system_data(&created),
    });
    app.store.put(kind::DEPLOYMENTS, &key, rec.clone())?;
    let op = app.new_operation("deployment", &key)?;
    let status = if existing.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let resp = app.async_op_response(status, &public(&rec), &op, api_version);
    spawn_provision(app, ep.to_owned(), dep.to_owned(), Some(op));
    Ok(resp)
}

fn delete_deployment(app: &Arc<App>, ep: &str, dep: &str, api_version: &str) -> Resp {
    let ep_rec = endpoint(app, ep)?;
    let key = dep_key(ep, dep);
    if app.store.get(kind::DEPLOYMENTS, &key).is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    if ep_rec["properties"]["traffic"][dep].as_u64().unwrap_or(0) > 0 {
        return Err(ApiError::bad_request(format!(
            "Deployment '{dep}' receives traffic on endpoint '{ep}'; set its traffic to 0 before deleting it."
        )));
    }
    set_state(app, kind::DEPLOYMENTS, &key, "Deleting");
    let op = app.new_operation("deployment-delete", &key)?;
    let resp = app.location_response(&op, api_version);
    let app2 = app.clone();
    let (ep, dep) = (ep.to_owned(), dep.to_owned());
    app.tasks.spawn(async move {
        tokio::time::sleep(app2.cfg.timing.provisioning_delay).await;
        stop_scorer(&app2, &key).await;
        let result = app2
            .store
            .delete(kind::DEPLOYMENTS, &key)
            .map(|_| ())
            .map_err(ApiError::from);
        let _ = app2.store.update(kind::ENDPOINTS, &ep, |v| {
            if let Some(t) = v["properties"]["traffic"].as_object_mut() {
                t.remove(&dep);
            }
        });
        let _ = std::fs::remove_dir_all(dep_dir(&app2, &ep, &dep));
        app2.finish_operation(&op, result);
    });
    Ok(resp)
}

async fn stop_scorer(app: &App, key: &str) {
    let s = app
        .scorers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(key);
    if let Some(s) = s {
        s.stop(app.cfg.timing.kill_grace).await;
    }
}

fn spawn_provision(app: &Arc<App>, ep: String, dep: String, op: Option<String>) {
    let app2 = app.clone();
    app.tasks.spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(app2.cfg.timing.provisioning_delay) => {}
            () = app2.shutdown.cancelled() => return,
        }
        let key = dep_key(&ep, &dep);
        // The previous scorer (an update) keeps serving until the new one is ready.
        let result = tokio::select! {
            r = start_scorer(&app2, &ep, &dep) => r,
            () = app2.shutdown.cancelled() => return,
        };
        if app2.store.get(kind::DEPLOYMENTS, &key).is_none() {
            if let Ok(s) = result {
                s.stop(app2.cfg.timing.kill_grace).await;
            }
            return;
        }
        let outcome = match result {
            Ok(scorer) => {
                let current = scorer.rev_dir.clone();
                let old = app2
                    .scorers
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(key.clone(), scorer);
                if let Some(old) = old {
                    old.stop(app2.cfg.timing.kill_grace).await;
                }
                remove_old_revisions(&dep_dir(&app2, &ep, &dep), &current);
                set_state(&app2, kind::DEPLOYMENTS, &key, "Succeeded");
                Ok(())
            }
            Err(message) => {
                log_line(
                    &dep_dir(&app2, &ep, &dep).join("storage_initializer.log"),
                    &format!("provisioning failed: {message}"),
                );
                set_state(&app2, kind::DEPLOYMENTS, &key, "Failed");
                Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "DeploymentFailed",
                    format!("Deployment '{dep}' of endpoint '{ep}' failed: {message}"),
                ))
            }
        };
        if let Some(op) = op {
            app2.finish_operation(&op, outcome);
        }
    });
}

/// Removes model/code copies of earlier provisionings.
fn remove_old_revisions(dir: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p != current && e.file_name().to_string_lossy().starts_with("rev-") {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

fn log_line(path: &Path, line: &str) {
    use std::io::Write;
    if let Some(p) = path.parent() {
        let _ = std::fs::create_dir_all(p);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{} {line}", now_rfc3339());
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Materialises model and code and starts the driver; returns once `init()` has completed.
async fn start_scorer(app: &Arc<App>, ep: &str, dep: &str) -> Result<Arc<Scorer>, String> {
    let rec = app
        .store
        .get(kind::DEPLOYMENTS, &dep_key(ep, dep))
        .ok_or("the deployment was deleted")?;
    let props = &rec["properties"];
    let dir = dep_dir(app, ep, dep);
    let storage_log = dir.join("storage_initializer.log");
    let server_log = dir.join("inference_server.log");
    let rev_dir = dir.join(format!("rev-{}", crate::util::new_id()));
    let (model_dir, code_dir) = (rev_dir.join("model"), rev_dir.join("code"));
    for d in [&model_dir, &code_dir] {
        let _ = std::fs::remove_dir_all(d);
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    log_line(
        &storage_log,
        &format!("provisioning deployment {dep} of endpoint {ep}"),
    );
    if let Some(model) = props["model"].as_str().filter(|m| !m.is_empty()) {
        let v = crate::uri::asset_version(app, model, "models")?;
        let uri = v["properties"]["modelUri"].as_str().unwrap_or_default();
        let loc = crate::uri::resolve(app, uri, 0).map_err(|e| format!("model {model}: {e}"))?;
        let path =
            crate::uri::materialise(app, &loc, &model_dir).map_err(|e| format!("model {model}: {e}"))?;
        log_line(
            &storage_log,
            &format!("model {model} downloaded to {}", path.display()),
        );
    }
    let code_cfg = &props["codeConfiguration"];
    let (Some(code_id), Some(script)) = (code_cfg["codeId"].as_str(), code_cfg["scoringScript"].as_str())
    else {
        return Err("the local workspace needs properties.codeConfiguration (codeId and scoringScript); no-code (MLflow) deployments are not emulated".to_owned());
    };
    crate::uri::materialise_code(app, code_id, &code_dir)?;
    if !crate::util::is_safe_relative(script) || !code_dir.join(script).is_file() {
        return Err(format!(
            "the scoring script '{script}' is not in the code {code_id}"
        ));
    }
    log_line(
        &storage_log,
        &format!("code {code_id} downloaded; scoring script {script}"),
    );
    let (_, python) = crate::jobs::python_shims(app).await?;
    let driver = app.dir("runtime/scoring_driver.py");
    std::fs::write(&driver, DRIVER).map_err(|e| format!("cannot write {}: {e}", driver.display()))?;
    log_line(
        &server_log,
        &format!("starting {script} with {}", python.display()),
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&server_log)
        .map_err(|e| format!("cannot open {}: {e}", server_log.display()))?;
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg("-u")
        .arg(&driver)
        .current_dir(&code_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .env_clear()
        .envs(app.child_env.iter().map(|(k, v)| (k, v)))
        .env("AZUREML_MODEL_DIR", &model_dir)
        .env("AZUREML_ENTRY_SCRIPT", code_dir.join(script))
        .env("PYTHONUNBUFFERED", "1");
    #[cfg(unix)]
    cmd.process_group(0);
    if let Some(vars) = props["environmentVariables"].as_object() {
        for (k, v) in vars {
            cmd.env(k, v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        }
    }
    let collects = crate::collector::configure(app, ep, dep, props, &mut cmd)?;
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", python.display()))?;
    let stdin = child.stdin.take().ok_or("no stdin")?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let ready = tokio::time::timeout(app.cfg.timing.deployment_ready_timeout, lines.next_line()).await;
    let ok = matches!(&ready, Ok(Ok(Some(l))) if serde_json::from_str::<Value>(l).is_ok_and(|v| v["ready"] == true));
    if !ok {
        crate::jobs::kill_tree(&mut child, app.cfg.timing.kill_grace).await;
        let _ = std::fs::remove_dir_all(&rev_dir);
        let why = match ready {
            Err(_) => "init() did not finish in time".to_owned(),
            _ => "init() failed".to_owned(),
        };
        return Err(format!("{why}; scoring log:\n{}", tail(&server_log, 30)));
    }
    Ok(Arc::new(Scorer {
        io: tokio::sync::Mutex::new(ScorerIo { stdin, lines }),
        child: tokio::sync::Mutex::new(Some(child)),
        next_id: AtomicU64::new(1),
        rev_dir,
        collects,
        collector_file: crate::util::new_id(),
    }))
}

struct ScorerIo {
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

/// A running scoring driver; requests are served one at a time.
pub(crate) struct Scorer {
    io: tokio::sync::Mutex<ScorerIo>,
    child: tokio::sync::Mutex<Option<Child>>,
    next_id: AtomicU64,
    /// The folder holding this scorer's model and code copies.
    rev_dir: std::path::PathBuf,
    /// Whether the deployment's dataCollector enables a collection.
    collects: bool,
    /// The name of this scoring process's file in each collector hour folder.
    collector_file: String,
}

impl Scorer {
    /// Score one request; returns the status, the body and the data-collector events of the call.
    async fn score(
        &self,
        body: String,
        time: &str,
        timeout: Duration,
    ) -> Result<(u16, String, Value), String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut io = self.io.lock().await;
        let line = json!({"id": id, "body": body, "time": time}).to_string() + "\n";
        io.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("the scoring process is gone: {e}"))?;
        io.stdin
            .flush()
            .await
            .map_err(|e| format!("the scoring process is gone: {e}"))?;
        let read = async {
            loop {
                match io.lines.next_line().await {
                    Ok(Some(l)) => {
                        let Ok(mut v) = serde_json::from_str::<Value>(&l) else {
                            continue;
                        };
                        if v["id"].as_u64() == Some(id) {
                            let status = v["status"]
                                .as_u64()
                                .and_then(|s| u16::try_from(s).ok())
                                .unwrap_or(500);
                            let body = v["body"].as_str().unwrap_or("null").to_owned();
                            return Ok((status, body, v["collected"].take()));
                        }
                    }
                    Ok(None) => return Err("the scoring process exited".to_owned()),
                    Err(e) => return Err(format!("cannot read from the scoring process: {e}")),
                }
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| "the scoring request timed out".to_owned())?
    }

    pub(crate) async fn stop(&self, grace: Duration) {
        if let Some(mut child) = self.child.lock().await.take() {
            crate::jobs::kill_tree(&mut child, grace).await;
        }
    }
}

/// Restarts deployments after a restart of the server.
pub(crate) fn recover(app: &Arc<App>) -> Result<(), crate::error::LocalError> {
    for (ep, v) in app.store.list(kind::ENDPOINTS) {
        match v["properties"]["provisioningState"].as_str() {
            Some("Creating" | "Updating") => set_state(app, kind::ENDPOINTS, &ep, "Succeeded"),
            Some("Deleting") => {
                app.store.delete(kind::ENDPOINTS, &ep)?;
                app.store.delete(kind::ENDPOINT_KEYS, &ep)?;
            }
            _ => {}
        }
    }
    let ops = app.store.list(kind::OPERATIONS);
    for (key, v) in app.store.list(kind::DEPLOYMENTS) {
        let Some((ep, dep)) = key.split_once('/') else {
            continue;
        };
        if app.store.get(kind::ENDPOINTS, ep).is_none() || v["properties"]["provisioningState"] == "Deleting"
        {
            app.store.delete(kind::DEPLOYMENTS, &key)?;
            continue;
        }
        if v["properties"]["provisioningState"] == "Failed" {
            continue;
        }
        let op = ops
            .iter()
            .find(|(_, o)| {
                o["kind"] == "deployment"
                    && o["target"].as_str() == Some(key.as_str())
                    && o["status"] == "InProgress"
            })
            .map(|(id, _)| id.clone());
        // Its scoring process is gone with the old server: it is Updating until the new one answers.
        set_state(app, kind::DEPLOYMENTS, &key, "Updating");
        spawn_provision(app, ep.to_owned(), dep.to_owned(), op);
    }
    for (id, o) in ops {
        if o["status"] == "InProgress" && o["kind"] == "deployment-delete" {
            app.finish_operation(&id, Ok(()));
        }
    }
    Ok(())
}

// ----- scoring --------------------------------------------------------------------------------------------

fn scoring_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"message": message.into()}))).into_response()
}

/// `POST /endpoints/{ep}/score`.
pub(crate) async fn route_scoring(app: &Arc<App>, req: &Req, segs: &[&str]) -> Resp {
    let [_, ep, "score"] = segs else {
        return Err(ApiError::not_found(format!("The path '{}'", req.uri.path())));
    };
    let ep = crate::util::decode(ep);
    let Some(rec) = app.store.get(kind::ENDPOINTS, &ep) else {
        return Ok(scoring_error(
            StatusCode::NOT_FOUND,
            format!("Endpoint '{ep}' not found."),
        ));
    };
    if req.method != axum::http::Method::POST {
        return Ok(scoring_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Use POST to score.",
        ));
    }
    let keys = app.store.get(kind::ENDPOINT_KEYS, &ep).unwrap_or_default();
    if !crate::auth::scoring_authorised(&app.auth, &rec, &keys, &req.headers) {
        return Ok(scoring_error(
            StatusCode::UNAUTHORIZED,
            "Authentication failed: send 'Authorization: Bearer <key or token>'.",
        ));
    }
    let header_dep = req
        .headers
        .get("azureml-model-deployment")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let dep = match header_dep {
        Some(d) => {
            if app.store.get(kind::DEPLOYMENTS, &dep_key(&ep, &d)).is_none() {
                return Ok(scoring_error(
                    StatusCode::NOT_FOUND,
                    format!("Deployment '{d}' not found on endpoint '{ep}'."),
                ));
            }
            d
        }
        None => {
            let traffic: Vec<(String, u64)> = rec["properties"]["traffic"]
                .as_object()
                .map(|t| {
                    t.iter()
                        .filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k.clone(), n)))
                        .collect()
                })
                .unwrap_or_default();
            let total: u64 = traffic.iter().map(|(_, n)| n).sum();
            if total == 0 {
                return Ok(scoring_error(
                    StatusCode::NOT_FOUND,
                    "No valid deployments to route to. Give a deployment traffic or send the azureml-model-deployment header.",
                ));
            }
            let mut pick = rand::random_range(0..total);
            let mut chosen = traffic[0].0.clone();
            for (d, n) in &traffic {
                if pick < *n {
                    chosen = d.clone();
                    break;
                }
                pick -= n;
            }
            chosen
        }
    };
    let scorer = app
        .scorers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&dep_key(&ep, &dep))
        .cloned();
    let Some(scorer) = scorer else {
        return Ok(scoring_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("Deployment '{dep}' is not ready (provisioning has not succeeded)."),
        ));
    };
    let time_header = req
        .headers
        .get(crate::collector::EVENT_TIME_HEADER)
        .and_then(|v| v.to_str().ok());
    let time = match crate::collector::event_time(time_header) {
        Ok(t) => t,
        Err(e) => return Ok(scoring_error(StatusCode::BAD_REQUEST, e)),
    };
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let started = std::time::Instant::now();
    let (status, text, collected) = match scorer.score(body, &time, app.cfg.timing.scoring_timeout).await {
        Ok(r) => r,
        Err(e) => {
            log_line(&dep_dir(app, &ep, &dep).join("inference_server.log"), &e);
            app.metrics.record(&ep, &dep, 502, started.elapsed());
            return Ok(scoring_error(StatusCode::BAD_GATEWAY, e));
        }
    };
    if scorer.collects
        && let Err(e) = crate::collector::store(app, &ep, &dep, &scorer.collector_file, &collected)
    {
        log_line(
            &dep_dir(app, &ep, &dep).join("inference_server.log"),
            &format!("data collection: {e}"),
        );
    }
    app.metrics.record(&ep, &dep, status, started.elapsed());
    let mut resp = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .header("azureml-model-deployment", &dep)
        .header("x-request-id", uuid::Uuid::new_v4().to_string())
        .body(axum::body::Body::from(text))
        .unwrap_or_default();
    resp.headers_mut().insert(
        "x-ms-run-function-failed",
        if status == 200 { "False" } else { "True" }
            .parse()
            .unwrap_or(http::HeaderValue::from_static("")),
    );
    Ok(resp)
}

/// Whether any online deployment is still provisioning (after a restart, or a PUT in progress).
pub(crate) fn provisioning(app: &App) -> bool {
    app.store.list(kind::DEPLOYMENTS).iter().any(|(_, v)| {
        matches!(
            v["properties"]["provisioningState"].as_str(),
            Some("Creating" | "Updating" | "Scaling")
        )
    })
}
