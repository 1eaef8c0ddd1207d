//! ARM routes of the workspace: workspace, datastores, assets (codes, models, environments, components, data),
//! schedules; jobs and online endpoints are delegated.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::app::{App, Req, Resp, json_response, method_not_allowed};
use crate::error::{ApiError, ApiResult};
use crate::store::kind;
use crate::util::now_rfc3339;

/// Asset collections with versions.
const ASSETS: [&str; 5] = ["codes", "models", "environments", "components", "data"];

pub(crate) async fn route(app: &Arc<App>, req: &Req, rest: &[String], api_version: &str) -> Resp {
    let r: Vec<&str> = rest.iter().map(String::as_str).collect();
    let m = req.method.as_str();
    match (m, r.as_slice()) {
        ("GET", []) => Ok(json_response(StatusCode::OK, &workspace(app))),
        ("GET", ["datastores"]) => {
            let ds = datastore(app);
            let items = if req
                .q("isDefault")
                .is_some_and(|v| v.eq_ignore_ascii_case("false"))
            {
                vec![]
            } else {
                vec![ds]
            };
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", ["datastores", name]) => {
            if *name != "workspaceblobstore" {
                return Err(ApiError::not_found(format!("Datastore '{name}'")));
            }
            Ok(json_response(StatusCode::OK, &datastore(app)))
        }
        ("POST", ["datastores", name, "listsecrets"]) => {
            if *name != "workspaceblobstore" {
                return Err(ApiError::not_found(format!("Datastore '{name}'")));
            }
            Ok(json_response(
                StatusCode::OK,
                &json!({"secretsType": "Sas", "sasToken": app.container_sas(crate::blob::DEFAULT_CONTAINER)}),
            ))
        }
        ("GET", ["computes"]) => Ok(json_response(
            StatusCode::OK,
            &app.page(vec![compute(app, "local")], &req.uri, &req.query),
        )),
        ("GET", ["computes", name]) => Ok(json_response(StatusCode::OK, &compute(app, name))),
        (_, [coll, ..]) if ASSETS.contains(coll) => assets(app, req, &r),
        (_, ["jobs", ..]) => crate::jobs::route(app, req, &r, api_version),
        ("GET", ["onlineendpoints", .., "providers", _, "metrics"]) => crate::metrics::route(app, req, &r),
        (_, ["onlineendpoints", ..]) => crate::scoring::route_arm(app, req, &r, api_version).await,
        (_, ["schedules", ..]) => schedules(app, req, &r, api_version),
        _ => {
            if matches!(
                req.method,
                Method::GET | Method::PUT | Method::DELETE | Method::POST | Method::PATCH
            ) {
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "ResourceNotFound",
                    format!("The local workspace does not serve '{}'.", rest.join("/")),
                ))
            } else {
                Err(method_not_allowed(&req.method))
            }
        }
    }
}

fn workspace(app: &App) -> Value {
    let workspace_id = match app.store.get("workspace", "id") {
        Some(Value::String(id)) => id,
        _ => {
            let id = uuid::Uuid::new_v4().to_string();
            let _ = app.store.put("workspace", "id", Value::String(id.clone()));
            id
        }
    };
    let c = &app.cfg;
    json!({
        "id": app.scope,
        "name": c.workspace,
        "type": "Microsoft.MachineLearningServices/workspaces",
        "location": c.location,
        "kind": "Default",
        "sku": {"name": "Basic", "tier": "Basic"},
        "identity": {"type": "SystemAssigned", "principalId": "00000000-0000-0000-0000-000000000000", "tenantId": "00000000-0000-0000-0000-000000000000"},
        "tags": {},
        "properties": {
            "friendlyName": c.workspace,
            "description": "amlops local workspace (loopback emulator)",
            "workspaceId": workspace_id,
            "provisioningState": "Succeeded",
            "discoveryUrl": format!("{}/discovery", app.base_url),
            "mlFlowTrackingUri": format!("{}/mlflow/v1.0{}", app.base_url, app.scope),
            "storageAccount": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}", c.subscription_id, c.resource_group, crate::blob::ACCOUNT),
            "hbiWorkspace": false,
            "publicNetworkAccess": "Enabled",
            "v1LegacyMode": false,
        },
        "systemData": App::system_data("2026-01-01T00:00:00Z"),
    })
}

/// Every compute name exists: jobs run on this machine whatever their `computeId`.
fn compute(app: &App, name: &str) -> Value {
    json!({
        "id": app.arm_id(&format!("/computes/{name}")),
        "name": name,
        "type": "Microsoft.MachineLearningServices/workspaces/computes",
        "location": app.cfg.location,
        "properties": {
            "computeType": "AmlCompute",
            "computeLocation": app.cfg.location,
            "provisioningState": "Succeeded",
            "description": "The local machine (amlops local workspace).",
            "isAttachedCompute": false,
            "properties": {
                "vmSize": "local",
                "vmPriority": "Dedicated",
                "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 1, "nodeIdleTimeBeforeScaleDown": "PT120S"},
                "allocationState": "Steady",
                "currentNodeCount": 1,
                "targetNodeCount": 1,
            },
        },
        "systemData": App::system_data("2026-01-01T00:00:00Z"),
    })
}

fn datastore(app: &App) -> Value {
    let port = app.base_url.rsplit(':').next().unwrap_or_default();
    json!({
        "id": app.arm_id("/datastores/workspaceblobstore"),
        "name": "workspaceblobstore",
        "type": "Microsoft.MachineLearningServices/workspaces/datastores",
        "properties": {
            "description": "Default datastore of the local workspace (blob storage emulated on loopback).",
            "tags": {},
            "properties": {"blobEndpoint": app.blob_base()},
            "isDefault": true,
            "credentials": {"credentialsType": "Sas", "secrets": {"secretsType": "Sas"}},
            "datastoreType": "AzureBlob",
            "accountName": crate::blob::ACCOUNT,
            "containerName": crate::blob::DEFAULT_CONTAINER,
            "endpoint": format!("127.0.0.1:{port}"),
            "protocol": "http",
            "serviceDataAccessAuthIdentity": "None",
        },
        "systemData": App::system_data("2026-01-01T00:00:00Z"),
    })
}

// ----- assets --------------------------------------------------------------------------------------------

fn asset_type(coll: &str) -> &'static str {
    match coll {
        "codes" => "codes",
        "models" => "models",
        "environments" => "environments",
        "components" => "components",
        _ => "data",
    }
}

/// The field holding an asset version's content location, which cannot change.
fn path_field(coll: &str) -> Option<&'static str> {
    match coll {
        "codes" => Some("codeUri"),
        "models" => Some("modelUri"),
        "data" => Some("dataUri"),
        _ => None,
    }
}

fn containers_kind(coll: &str) -> String {
    format!("{coll}-containers")
}

pub(crate) fn get_asset_version(app: &App, coll: &str, name: &str, version: &str) -> Option<Value> {
    app.store.get(asset_type(coll), &format!("{name}/{version}"))
}

fn versions_of(app: &App, coll: &str, name: &str) -> Vec<Value> {
    let mut v: Vec<Value> = app
        .store
        .list_prefix(asset_type(coll), &format!("{name}/"))
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    // Newest first.
    v.sort_by(|a, b| {
        let ka = a["systemData"]["createdAt"].as_str().unwrap_or_default();
        let kb = b["systemData"]["createdAt"].as_str().unwrap_or_default();
        kb.cmp(ka).then_with(|| version_num(b).cmp(&version_num(a)))
    });
    v
}

fn version_num(v: &Value) -> Option<u64> {
    v["name"].as_str().and_then(|n| n.parse().ok())
}

/// The latest version of an asset (most recently created).
pub(crate) fn latest_version(app: &App, coll: &str, name: &str) -> Option<Value> {
    versions_of(app, coll, name).into_iter().next()
}

fn container(app: &App, coll: &str, name: &str) -> Option<Value> {
    let explicit = app.store.get(&containers_kind(coll), name);
    let versions = versions_of(app, coll, name);
    if explicit.is_none() && versions.is_empty() {
        return None;
    }
    let mut c = explicit.unwrap_or_else(|| {
        let created = versions
            .last()
            .and_then(|v| v["systemData"]["createdAt"].as_str())
            .unwrap_or_default()
            .to_owned();
        json!({
            "id": app.arm_id(&format!("/{coll}/{name}")),
            "name": name,
            "type": format!("Microsoft.MachineLearningServices/workspaces/{coll}"),
            "properties": {"description": null, "tags": {}, "properties": {}},
            "systemData": App::system_data(&created),
        })
    });
    let latest = versions
        .first()
        .and_then(|v| v["name"].as_str())
        .map(str::to_owned);
    let next = versions.iter().filter_map(version_num).max().map_or(1, |n| n + 1);
    let p = &mut c["properties"];
    p["latestVersion"] = latest.map_or(Value::Null, Value::String);
    p["nextVersion"] = Value::String(next.to_string());
    p["isArchived"] = false.into();
    p["provisioningState"] = "Succeeded".into();
    Some(c)
}

fn assets(app: &App, req: &Req, r: &[&str]) -> Resp {
    let coll = r[0];
    let m = req.method.as_str();
    match (m, &r[1..]) {
        ("GET", []) => {
            let mut names: Vec<String> = app
                .store
                .list(asset_type(coll))
                .into_iter()
                .filter_map(|(k, _)| k.rsplit_once('/').map(|(n, _)| n.to_owned()))
                .chain(app.store.list(&containers_kind(coll)).into_iter().map(|(k, _)| k))
                .collect();
            names.sort();
            names.dedup();
            let items = names.iter().filter_map(|n| container(app, coll, n)).collect();
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [name]) => container(app, coll, name)
            .map(|c| json_response(StatusCode::OK, &c))
            .ok_or_else(|| ApiError::not_found(format!("{} container '{name}'", asset_type(coll)))),
        ("PUT", [name]) => {
            let body = req.json()?;
            let props = body.get("properties").cloned().unwrap_or_else(|| json!({}));
            let existed = app.store.get(&containers_kind(coll), name);
            let created = existed
                .as_ref()
                .and_then(|c| c["systemData"]["createdAt"].as_str().map(str::to_owned))
                .unwrap_or_else(now_rfc3339);
            let rec = json!({
                "id": app.arm_id(&format!("/{coll}/{name}")),
                "name": name,
                "type": format!("Microsoft.MachineLearningServices/workspaces/{coll}"),
                "properties": props,
                "systemData": App::system_data(&created),
            });
            app.store.put(&containers_kind(coll), name, rec)?;
            let c = container(app, coll, name).unwrap_or_default();
            Ok(json_response(
                if existed.is_some() {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                },
                &c,
            ))
        }
        ("GET", [name, "versions"]) => {
            let mut items = versions_of(app, coll, name);
            if let Some(hash) = req.q("hash") {
                let hv = req.q("hashVersion");
                items.retain(|v| {
                    let p = &v["properties"]["properties"];
                    p["hash_sha256"].as_str() == Some(hash)
                        && hv.is_none_or(|hv| p["hash_version"].as_str().is_none_or(|x| x == hv))
                });
            }
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [name, "versions", version]) => get_asset_version(app, coll, name, version)
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::not_found(format!("{} version '{name}:{version}'", asset_type(coll)))),
        ("PUT", [name, "versions", version]) => put_version(app, req, coll, name, version),
        ("DELETE", [name, "versions", version]) => {
            if app.store.delete(asset_type(coll), &format!("{name}/{version}"))? {
                Ok(StatusCode::OK.into_response())
            } else {
                Ok(StatusCode::NO_CONTENT.into_response())
            }
        }
        ("POST", [_name, "versions", _version, "startpendingupload"]) => {
            let body = req.json()?;
            let upload_id = body["pendingUploadId"]
                .as_str()
                .map_or_else(crate::util::new_id, str::to_owned);
            let container = format!("upload-{}", crate::util::new_id());
            let blob_uri = format!("{}/{container}", app.blob_base());
            Ok(json_response(
                StatusCode::OK,
                &json!({
                    "blobReferenceForConsumption": {
                        "blobUri": blob_uri,
                        "storageAccountArmId": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}", app.cfg.subscription_id, app.cfg.resource_group, crate::blob::ACCOUNT),
                        "credential": {"credentialType": "SAS", "sasUri": format!("{blob_uri}?{}", app.container_sas(&container))},
                    },
                    "pendingUploadId": upload_id,
                    "pendingUploadType": "TemporaryBlobReference",
                }),
            ))
        }
        _ => Err(ApiError::not_found(format!("The resource '{}'", r.join("/")))),
    }
}

fn put_version(app: &App, req: &Req, coll: &str, name: &str, version: &str) -> Resp {
    let body = req.json()?;
    let Some(props) = body.get("properties").filter(|p| p.is_object()).cloned() else {
        return Err(ApiError::bad_request(
            "The request body must have a 'properties' object.",
        ));
    };
    let (status, rec) = store_version(app, coll, name, version, props)?;
    Ok(json_response(status, &rec))
}

/// Registers an asset produced by a job output (`assetName`/`assetVersion`); returns the version.
pub(crate) fn register_output_asset(
    app: &App,
    coll: &str,
    name: &str,
    version: Option<&str>,
    props: Value,
) -> ApiResult<String> {
    let version = match version {
        Some(v) => v.to_owned(),
        None => container(app, coll, name)
            .and_then(|c| c["properties"]["nextVersion"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "1".to_owned()),
    };
    store_version(app, coll, name, &version, props)?;
    Ok(version)
}

fn store_version(
    app: &App,
    coll: &str,
    name: &str,
    version: &str,
    props: Value,
) -> ApiResult<(StatusCode, Value)> {
    let required: &[&str] = match coll {
        "models" => &["modelUri"],
        "data" => &["dataUri", "dataType"],
        "components" => &["componentSpec"],
        _ => &[],
    };
    for f in required {
        if props.get(*f).is_none_or(Value::is_null) {
            return Err(ApiError::bad_request(format!(
                "{} version '{name}:{version}': the field 'properties.{f}' is required.",
                asset_type(coll)
            )));
        }
    }
    if coll == "environments" && props.get("image").is_none() && props.get("build").is_none() {
        return Err(ApiError::bad_request(format!(
            "environment version '{name}:{version}': one of 'properties.image' or 'properties.build' is required."
        )));
    }
    let existing = get_asset_version(app, coll, name, version);
    if let (Some(old), Some(field)) = (&existing, path_field(coll))
        && old["properties"][field] != props[field]
        && !props[field].is_null()
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "UserError",
            format!(
                "{} version '{name}:{version}' already exists with a different {field}; asset paths cannot be updated. Use a new version.",
                asset_type(coll)
            ),
        ));
    }
    let created = existing
        .as_ref()
        .and_then(|v| v["systemData"]["createdAt"].as_str().map(str::to_owned))
        .unwrap_or_else(now_rfc3339);
    let mut p = props;
    for (k, d) in [
        ("isArchived", json!(false)),
        ("isAnonymous", json!(false)),
        ("tags", json!({})),
        ("properties", json!({})),
    ] {
        if p.get(k).is_none_or(Value::is_null) {
            p[k] = d;
        }
    }
    p["provisioningState"] = "Succeeded".into();
    if coll == "environments" {
        p["environmentType"] = "UserCreated".into();
        if p.get("osType").is_none() {
            p["osType"] = "Linux".into();
        }
    }
    let rec = json!({
        "id": app.arm_id(&format!("/{coll}/{name}/versions/{version}")),
        "name": version,
        "type": format!("Microsoft.MachineLearningServices/workspaces/{coll}/versions"),
        "properties": p,
        "systemData": App::system_data(&created),
    });
    app.store
        .put(asset_type(coll), &format!("{name}/{version}"), rec.clone())?;
    Ok((
        if existing.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        rec,
    ))
}

// ----- schedules -----------------------------------------------------------------------------------------

fn schedules(app: &App, req: &Req, r: &[&str], api_version: &str) -> Resp {
    let m = req.method.as_str();
    match (m, &r[1..]) {
        ("GET", []) => {
            let items = app
                .store
                .list(kind::SCHEDULES)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &app.page(items, &req.uri, &req.query),
            ))
        }
        ("GET", [name]) => app
            .store
            .get(kind::SCHEDULES, name)
            .map(|v| json_response(StatusCode::OK, &v))
            .ok_or_else(|| ApiError::not_found(format!("Schedule '{name}'"))),
        ("PUT", [name]) => {
            let body = req.json()?;
            let Some(props) = body.get("properties").filter(|p| p.is_object()).cloned() else {
                return Err(ApiError::bad_request(
                    "The request body must have a 'properties' object.",
                ));
            };
            for f in ["trigger", "action"] {
                if props.get(f).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "Schedule '{name}': 'properties.{f}' is required."
                    )));
                }
            }
            let existing = app.store.get(kind::SCHEDULES, name);
            let created = existing
                .as_ref()
                .and_then(|v| v["systemData"]["createdAt"].as_str().map(str::to_owned))
                .unwrap_or_else(now_rfc3339);
            let mut p = props;
            if p.get("isEnabled").is_none() {
                p["isEnabled"] = true.into();
            }
            p["provisioningState"] = if existing.is_some() {
                "Updating"
            } else {
                "Creating"
            }
            .into();
            let rec = json!({
                "id": app.arm_id(&format!("/schedules/{name}")),
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/schedules",
                "properties": p,
                "systemData": App::system_data(&created),
            });
            app.store.put(kind::SCHEDULES, name, rec.clone())?;
            let op = app.new_operation("schedule", name)?;
            let status = if existing.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let resp = app.async_op_response(status, &rec, &op, api_version);
            // A schedule is never run locally: provisioning only records it.
            let store = app.store.clone();
            let delay = app.cfg.timing.provisioning_delay;
            let name = (*name).to_owned();
            let app_ops = OpFinisher::new(app);
            app.tasks.spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = store.update(kind::SCHEDULES, &name, |v| {
                    v["properties"]["provisioningState"] = "Succeeded".into()
                });
                app_ops.finish(&op, Ok(()));
            });
            Ok(resp)
        }
        ("DELETE", [name]) => {
            if app.store.get(kind::SCHEDULES, name).is_none() {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            app.store.delete(kind::SCHEDULES, name)?;
            let op = app.new_operation("schedule-delete", name)?;
            app.finish_operation(&op, Ok(()));
            Ok(app.location_response(&op, api_version))
        }
        _ => Err(ApiError::not_found(format!("The resource '{}'", r.join("/")))),
    }
}

/// Finishes operations from a background task without holding the whole app.
pub(crate) struct OpFinisher {
    store: Arc<crate::store::Store>,
}

impl OpFinisher {
    pub fn new(app: &App) -> Self {
        Self {
            store: app.store.clone(),
        }
    }
    pub fn finish(&self, id: &str, result: Result<(), ApiError>) {
        let _ = self.store.update(kind::OPERATIONS, id, |op| {
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
    }
}
