//! Online/batch endpoints and deployments.

use serde_json::{Map, Value, json};

use super::assets::model_body;
use super::{Ctx, api, camel, camel_keys, iso_duration, opt_str, stringify_map};
use crate::error::Result;
use crate::plan::RestRequest;
use crate::refs::{AssetType, NameKind, validate_name};

fn resource_name(ctx: &Ctx<'_>, m: &Map<String, Value>, kind: NameKind) -> Result<String> {
    let name = ctx
        .opts
        .name
        .clone()
        .or_else(|| opt_str(m, "name"))
        .ok_or_else(|| ctx.err(&["name"], "Missing data for required field."))?;
    validate_name(kind, &name).map_err(|e| ctx.err(&["name"], e.to_string()))?;
    Ok(name)
}

fn auth_mode(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "key" => "Key".into(),
        "aml_token" | "amltoken" => "AMLToken".into(),
        "aad_token" | "aadtoken" => "AADToken".into(),
        _ => s.to_string(),
    }
}

fn identity(v: Option<&Value>) -> Value {
    let Some(Value::Object(m)) = v else {
        return json!({"type": "SystemAssigned"});
    };
    let mut out = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "type" => {
                let t = match v.as_str().unwrap_or_default() {
                    "system_assigned" => "SystemAssigned",
                    "user_assigned" => "UserAssigned",
                    "system_assigned,user_assigned" => "SystemAssigned,UserAssigned",
                    "none" => "None",
                    o => o,
                };
                out.insert("type".into(), json!(t));
            }
            "user_assigned_identities" => {
                let mut ids = Map::new();
                if let Value::Array(a) = v {
                    for i in a {
                        // `IdentityConfiguration._to_online_endpoint_rest_object` keys each identity by its
                        // `resource_id`; one without is keyed by None, which JSON writes as "null"
                        let id = i.get("resource_id").and_then(Value::as_str).unwrap_or("null");
                        ids.insert(id.to_string(), json!({}));
                    }
                }
                out.insert("userAssignedIdentities".into(), Value::Object(ids));
            }
            _ => {
                out.insert(camel(k), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn tags_with_extra(ctx: &Ctx<'_>, m: &Map<String, Value>) -> Value {
    let mut tags = match m.get("tags") {
        Some(Value::Object(t)) => Value::Object(t.clone()),
        _ => json!({}),
    };
    if let Value::Object(t) = &mut tags {
        for (k, v) in &ctx.opts.tags {
            t.insert(k.clone(), json!(v));
        }
    }
    tags
}

pub(crate) fn online_endpoint(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    ctx.check_fields(
        m,
        &[],
        &[
            "$schema",
            "name",
            "description",
            "tags",
            "properties",
            "auth_mode",
            "identity",
            "traffic",
            "mirror_traffic",
            "public_network_access",
            "compute",
            "kind",
            "provisioning_state",
            "scoring_uri",
            "openapi_uri",
            "location",
        ],
    )?;
    let name = resource_name(ctx, m, NameKind::Endpoint)?;
    let mut p = Map::new();
    p.insert(
        "authMode".into(),
        json!(auth_mode(
            &opt_str(m, "auth_mode").unwrap_or_else(|| "key".into())
        )),
    );
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    p.insert(
        "traffic".into(),
        m.get("traffic").cloned().unwrap_or_else(|| json!({})),
    );
    p.insert(
        "mirrorTraffic".into(),
        m.get("mirror_traffic").cloned().unwrap_or_else(|| json!({})),
    );
    if let Some(pna) = opt_str(m, "public_network_access") {
        p.insert("publicNetworkAccess".into(), json!(pna));
    }
    if let Some(c) = m.get("compute").filter(|v| !v.is_null()) {
        p.insert("compute".into(), json!(ctx.compute_id(c, &["compute"])?));
    }
    let body = json!({
        "location": ctx.scope.location,
        "properties": p,
        "identity": identity(m.get("identity")),
        "tags": tags_with_extra(ctx, m),
    });
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.scope.asset_id("onlineEndpoints", &name, None),
        api_version: api::ONLINE_ENDPOINT.into(),
        body,
    })
}

pub(crate) fn batch_endpoint(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    ctx.check_fields(
        m,
        &[],
        &[
            "$schema",
            "name",
            "description",
            "tags",
            "properties",
            "auth_mode",
            "defaults",
            "location",
        ],
    )?;
    let name = resource_name(ctx, m, NameKind::Endpoint)?;
    let mut p = Map::new();
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    p.insert(
        "authMode".into(),
        json!(
            opt_str(m, "auth_mode")
                .map(|a| if a == "aad_token" { "aadToken".into() } else { a })
                .unwrap_or_else(|| "aadToken".into())
        ),
    );
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    if let Some(Value::Object(d)) = m.get("defaults") {
        p.insert("defaults".into(), camel_keys(&Value::Object(d.clone())));
    }
    let body = json!({
        "location": ctx.scope.location,
        "tags": tags_with_extra(ctx, m),
        "properties": p,
    });
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.scope.asset_id("batchEndpoints", &name, None),
        api_version: api::BATCH_ENDPOINT.into(),
        body,
    })
}

fn ms_duration(v: &Value) -> Value {
    match v.as_f64() {
        Some(ms) => json!(iso_duration(ms / 1000.0)),
        None => v.clone(),
    }
}

fn seconds_duration(v: &Value) -> Value {
    match v.as_f64() {
        Some(s) => json!(iso_duration(s)),
        None => v.clone(),
    }
}

fn probe(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            let val = match k.as_str() {
                "initial_delay" | "period" | "timeout" => seconds_duration(v),
                _ => v.clone(),
            };
            out.insert(camel(k), val);
        }
    }
    Value::Object(out)
}

/// Code, environment and model of a deployment, in the order the SDK registers them.
fn deployment_assets(
    ctx: &mut Ctx<'_>,
    m: &Map<String, Value>,
    p: &mut Map<String, Value>,
    batch: bool,
) -> Result<()> {
    if let Some(Value::Object(cc)) = m.get("code_configuration") {
        let mut out = Map::new();
        if let Some(code) = cc.get("code").filter(|v| !v.is_null()) {
            out.insert(
                "codeId".into(),
                json!(ctx.code(code, &["code_configuration", "code"])?),
            );
        }
        if let Some(s) = opt_str(cc, "scoring_script") {
            out.insert("scoringScript".into(), json!(s));
        }
        p.insert("codeConfiguration".into(), Value::Object(out));
    }
    if let Some(env) = m.get("environment").filter(|v| !v.is_null()) {
        p.insert(
            "environmentId".into(),
            json!(ctx.environment(env, &["environment"])?),
        );
    }
    if let Some(model) = m.get("model").filter(|v| !v.is_null()) {
        let id = match model {
            Value::String(s) => ctx.asset_ref(AssetType::Model, s, &["model"])?,
            Value::Object(mm) => {
                let (name, version, body) = model_body(ctx, mm, &["model"], true)?;
                let id = ctx.asset_id(AssetType::Model, &name, &version);
                ctx.push_dep(id.clone(), api::MODEL, body);
                id
            }
            _ => return Err(ctx.err(&["model"], "expected a reference or an inline model")),
        };
        if batch {
            p.insert("model".into(), json!({"assetId": id, "referenceType": "Id"}));
        } else {
            p.insert("model".into(), json!(id));
        }
    }
    Ok(())
}

/// `data_collector`: each enabled collection gets a data asset `{endpoint}-{deployment}-{name}`
/// (registered first) that the deployment points at. As the SDK's `DataCollector._to_rest_object`, the
/// top-level `sampling_rate` goes into every collection (`samplingRate`), not to the top level.
fn data_collector(ctx: &mut Ctx<'_>, dc: &Value, endpoint: &str, deployment: &str) -> Value {
    let mut out = Map::new();
    let mut collections = Map::new();
    let sampling_rate = dc.get("sampling_rate").filter(|v| !v.is_null());
    if let Some(Value::Object(cs)) = dc.get("collections") {
        for (cname, c) in cs {
            let enabled = c
                .get("enabled")
                .map(|e| match e {
                    Value::Bool(b) => *b,
                    Value::String(s) => s.eq_ignore_ascii_case("true"),
                    _ => false,
                })
                .unwrap_or(false);
            let mut o = Map::new();
            o.insert(
                "dataCollectionMode".into(),
                json!(if enabled { "enabled" } else { "disabled" }),
            );
            if enabled {
                let data_name = format!("{endpoint}-{deployment}-{cname}");
                let id = ctx.asset_id(AssetType::Data, &data_name, "1");
                ctx.push_dep(
                    id.clone(),
                    api::DATA,
                    json!({"properties": {"isAnonymous": false, "tags": {}, "isArchived": false, "properties": {},
                        "dataUri": format!("azureml://datastores/workspaceblobstore/paths/modelDataCollector/{endpoint}/{deployment}/{cname}"),
                        "dataType": "uri_folder"}}),
                );
                o.insert("dataId".into(), json!(id));
            }
            if let Some(cm) = c.as_object() {
                for (k, v) in cm {
                    if k != "enabled" && k != "data" {
                        o.insert(camel(k), v.clone());
                    }
                }
            }
            if let Some(rate) = sampling_rate {
                o.insert("samplingRate".into(), rate.clone());
            }
            collections.insert(cname.clone(), Value::Object(o));
        }
    }
    out.insert("collections".into(), Value::Object(collections));
    if let Some(obj) = dc.as_object() {
        for (k, v) in obj {
            if k != "collections" && k != "sampling_rate" {
                out.insert(camel(k), camel_keys(v));
            }
        }
    }
    Value::Object(out)
}

fn endpoint_name(ctx: &Ctx<'_>, m: &Map<String, Value>) -> Result<String> {
    ctx.opts
        .endpoint_name
        .clone()
        .or_else(|| opt_str(m, "endpoint_name"))
        .ok_or_else(|| ctx.err(&["endpoint_name"], "Missing data for required field."))
}

pub(crate) fn online_deployment(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    ctx.check_fields(
        m,
        &[],
        &[
            "$schema",
            "name",
            "endpoint_name",
            "type",
            "description",
            "tags",
            "properties",
            "model",
            "code_configuration",
            "environment",
            "environment_variables",
            "instance_type",
            "instance_count",
            "app_insights_enabled",
            "scale_settings",
            "request_settings",
            "liveness_probe",
            "readiness_probe",
            "egress_public_network_access",
            "data_collector",
            "model_mount_path",
            "resources",
            "private_network_connection",
            "provisioning_state",
            "with_package",
            "id",
        ],
    )?;
    let name = resource_name(ctx, m, NameKind::Deployment)?;
    let endpoint = endpoint_name(ctx, m)?;
    // `OnlineDeployment._load`: Kubernetes only for `type: kubernetes` exactly (not the `$schema`)
    let kubernetes = opt_str(m, "type").is_some_and(|t| t == "kubernetes");
    let mut p = Map::new();
    if let Some(dc) = m.get("data_collector").filter(|v| !v.is_null()) {
        p.insert("dataCollector".into(), data_collector(ctx, dc, &endpoint, &name));
    }
    deployment_assets(ctx, m, &mut p, false)?;
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    if let Some(Value::Object(s)) = m.get("scale_settings") {
        let mut out = Map::new();
        for (k, v) in s {
            if k == "type" {
                let t = match v.as_str().unwrap_or_default() {
                    "default" => "Default",
                    "target_utilization" => "TargetUtilization",
                    o => o,
                };
                out.insert("scaleType".into(), json!(t));
            } else if k == "polling_interval" {
                out.insert("pollingInterval".into(), seconds_duration(v));
            } else {
                out.insert(camel(k), v.clone());
            }
        }
        p.insert("scaleSettings".into(), Value::Object(out));
    }
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    // `DeploymentSchema.environment_variables = fields.Dict()` loads values as written and
    // `OnlineDeployment._to_rest_object` passes them on: a YAML number or boolean stays one
    p.insert(
        "environmentVariables".into(),
        m.get("environment_variables")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| json!({})),
    );
    p.insert(
        "appInsightsEnabled".into(),
        m.get("app_insights_enabled").cloned().unwrap_or(json!(false)),
    );
    if let Some(Value::Object(r)) = m.get("request_settings") {
        let mut out = Map::new();
        for (k, v) in r {
            match k.as_str() {
                "request_timeout_ms" => {
                    out.insert("requestTimeout".into(), ms_duration(v));
                }
                "max_queue_wait_ms" => {
                    out.insert("maxQueueWait".into(), ms_duration(v));
                }
                _ => {
                    out.insert(camel(k), v.clone());
                }
            }
        }
        p.insert("requestSettings".into(), Value::Object(out));
    }
    for (k, rk) in [
        ("liveness_probe", "livenessProbe"),
        ("readiness_probe", "readinessProbe"),
    ] {
        if let Some(v) = m.get(k).filter(|v| !v.is_null()) {
            p.insert(rk.into(), probe(v));
        }
    }
    if let Some(v) = opt_str(m, "instance_type") {
        p.insert("instanceType".into(), json!(v));
    }
    if let Some(v) = opt_str(m, "egress_public_network_access") {
        p.insert("egressPublicNetworkAccess".into(), json!(v));
    }
    if let Some(v) = opt_str(m, "model_mount_path") {
        p.insert("modelMountPath".into(), json!(v));
    }

    if kubernetes {
        if let Some(Value::Object(r)) = m.get("resources") {
            let mut out = Map::new();
            if let Some(req) = r.get("requests") {
                out.insert("containerResourceRequests".into(), camel_keys(req));
            }
            if let Some(lim) = r.get("limits") {
                out.insert("containerResourceLimits".into(), camel_keys(lim));
            }
            p.insert("containerResourceRequirements".into(), Value::Object(out));
        }
        p.insert("endpointComputeType".into(), json!("Kubernetes"));
    } else {
        p.insert("endpointComputeType".into(), json!("Managed"));
    }
    let mut body = Map::new();
    body.insert("location".into(), json!(ctx.scope.location));
    body.insert("properties".into(), Value::Object(p));
    body.insert("tags".into(), tags_with_extra(ctx, m));
    match m.get("instance_count").filter(|v| !v.is_null()) {
        Some(c) => body.insert("sku".into(), json!({"name": "Default", "capacity": c})),
        None => body.insert("sku".into(), json!({"name": "Default"})),
    };
    Ok(RestRequest {
        method: "PUT".into(),
        path: format!(
            "{}/deployments/{name}",
            ctx.scope.asset_id("onlineEndpoints", &endpoint, None)
        ),
        api_version: api::ONLINE_DEPLOYMENT.into(),
        body: Value::Object(body),
    })
}

pub(crate) fn batch_deployment(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    let name = resource_name(ctx, m, NameKind::Deployment)?;
    let endpoint = endpoint_name(ctx, m)?;
    let ty = opt_str(m, "type").unwrap_or_else(|| "model".into());
    let mut p = Map::new();
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    if ty == "pipeline" {
        // `PipelineComponentBatchDeployment._to_rest_object` sends the deployment configuration even without a
        // `component`: its `IdAssetReference(asset_id=None)` is `{"referenceType": "Id"}`
        {
            let mut conf = Map::new();
            let id = match m.get("component").unwrap_or(&Value::Null) {
                Value::Null => None,
                Value::String(s) if s.starts_with("azureml:") => {
                    Some(super::component::component_ref(ctx, s, &["component"])?)
                }
                Value::String(path) => {
                    let (src, doc) = ctx.load_nested(path, &["component"])?;
                    let cm = doc.as_object().cloned().unwrap_or_default();
                    // a local component file also contributes its tags and description
                    conf.insert(
                        "tags".into(),
                        cm.get("tags").map(stringify_map).unwrap_or_else(|| json!({})),
                    );
                    if let Some(d) = opt_str(&cm, "description") {
                        conf.insert("description".into(), json!(d));
                    }
                    Some(ctx.with_source(src, |c| super::component::anonymous_component(c, &cm))?)
                }
                _ => return Err(ctx.err(&["component"], "expected a path or reference")),
            };
            let component_id = match id {
                Some(id) => json!({"assetId": id, "referenceType": "Id"}),
                None => json!({"referenceType": "Id"}),
            };
            conf.insert("componentId".into(), component_id);
            conf.insert("deploymentConfigurationType".into(), json!("PipelineComponent"));
            // `PipelineComponentBatchDeployment._to_rest_object` passes `self.settings` (None when not given,
            // which the serializer leaves out)
            if let Some(s) = m.get("settings").filter(|v| !v.is_null()) {
                conf.insert("settings".into(), s.clone());
            }
            p.insert("deploymentConfiguration".into(), Value::Object(conf));
        }
        // the SDK sends the model-deployment defaults for pipeline deployments too
        p.insert("errorThreshold".into(), json!(-1));
        p.insert("maxConcurrencyPerInstance".into(), json!(1));
        p.insert("miniBatchSize".into(), json!(10));
        p.insert("outputFileName".into(), json!("predictions.csv"));
        let body = json!({
            "location": ctx.scope.location,
            "tags": tags_with_extra(ctx, m),
            "properties": p,
        });
        return Ok(RestRequest {
            method: "PUT".into(),
            path: format!(
                "{}/deployments/{name}",
                ctx.scope.asset_id("batchEndpoints", &endpoint, None)
            ),
            api_version: api::BATCH_DEPLOYMENT.into(),
            body,
        });
    } else {
        // `type: model` loads with `ModelBatchDeploymentSchema` (compute required); without a type the CLI
        // uses `BatchDeploymentSchema`, where compute is optional
        let model_type = opt_str(m, "type").is_some_and(|t| t.eq_ignore_ascii_case("model"));
        if model_type && m.get("compute").is_none_or(Value::is_null) {
            return Err(ctx.err(&["compute"], "Missing data for required field."));
        }
        deployment_assets(ctx, m, &mut p, true)?;
        if let Some(Value::Object(s)) = m.get("settings") {
            for (k, v) in s {
                match k.as_str() {
                    "output_action" => {
                        let a = match v.as_str().unwrap_or_default() {
                            "append_row" => "AppendRow",
                            "summary_only" => "SummaryOnly",
                            o => o,
                        };
                        p.insert("outputAction".into(), json!(a));
                    }
                    "retry_settings" => {
                        let mut out = Map::new();
                        if let Value::Object(r) = v {
                            for (rk, rv) in r {
                                out.insert(
                                    camel(rk),
                                    if rk == "timeout" {
                                        seconds_duration(rv)
                                    } else {
                                        rv.clone()
                                    },
                                );
                            }
                        }
                        p.insert("retrySettings".into(), Value::Object(out));
                    }
                    // `ModelBatchDeploymentSettingsSchema.environment_variables = fields.Dict()`: values
                    // as written
                    "environment_variables" if model_type => {
                        p.insert("environmentVariables".into(), v.clone());
                    }
                    "environment_variables" => {
                        p.insert("environmentVariables".into(), stringify_map(v));
                    }
                    _ => {
                        p.insert(camel(k), v.clone());
                    }
                }
            }
        }
        if let Some(Value::Object(r)) = m.get("resources") {
            let mut out = Map::new();
            for (k, v) in r {
                if k != "properties" {
                    out.insert(camel(k), v.clone());
                }
            }
            out.insert(
                "properties".into(),
                r.get("properties").cloned().unwrap_or_else(|| json!({})),
            );
            p.insert("resources".into(), Value::Object(out));
        }
        // `ModelBatchDeployment._to_rest_object` sends `settings.environment_variables` only when given;
        // the base `BatchDeployment` (no `type`) sends `{}` by default
        let legacy = !model_type && !m.contains_key("settings");
        for (k, v) in m {
            match k.as_str() {
                "max_concurrency_per_instance"
                | "mini_batch_size"
                | "error_threshold"
                | "logging_level"
                | "output_file_name" => {
                    p.insert(camel(k), v.clone());
                }
                "retry_settings" => {
                    let mut out = Map::new();
                    if let Value::Object(r) = v {
                        for (rk, rv) in r {
                            out.insert(
                                camel(rk),
                                if rk == "timeout" {
                                    seconds_duration(rv)
                                } else {
                                    rv.clone()
                                },
                            );
                        }
                    }
                    p.insert("retrySettings".into(), Value::Object(out));
                }
                "output_action" => {
                    let a = match v.as_str().unwrap_or_default() {
                        "append_row" => "AppendRow",
                        "summary_only" => "SummaryOnly",
                        o => o,
                    };
                    p.insert("outputAction".into(), json!(a));
                }
                _ => {}
            }
        }
        if legacy {
            p.insert(
                "environmentVariables".into(),
                m.get("environment_variables")
                    .map(stringify_map)
                    .unwrap_or_else(|| json!({})),
            );
        }
    }
    if let Some(c) = m.get("compute").filter(|v| !v.is_null()) {
        p.insert("compute".into(), json!(ctx.compute_id(c, &["compute"])?));
    }
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    let body = json!({
        "location": ctx.scope.location,
        "properties": p,
        "tags": tags_with_extra(ctx, m),
    });
    Ok(RestRequest {
        method: "PUT".into(),
        path: format!(
            "{}/deployments/{name}",
            ctx.scope.asset_id("batchEndpoints", &endpoint, None)
        ),
        api_version: api::BATCH_DEPLOYMENT.into(),
        body,
    })
}
