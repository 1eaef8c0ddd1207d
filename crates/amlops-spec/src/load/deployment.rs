//! Online and batch deployments and online endpoints as the SDK loads them (`azure.ai.ml._schema._deployment`,
//! `_schema/_endpoint`), and the inputs for which the SDK itself fails while building the request (an internal
//! `AttributeError`/`TypeError`): those are refused here with an error that says what is missing.

use serde_json::{Map, Value};

use super::Loader;
use crate::error::{Result, SpecError};
use crate::yaml::locate;

/// `DeploymentSchema` (`_schema/_deployment/deployment.py`): the fields every model deployment has.
const DEPLOYMENT_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "endpoint_name",
    "description",
    "id",
    "tags",
    "properties",
    "model",
    "code_configuration",
    "environment",
    "environment_variables",
];

/// `BatchDeploymentSchema` (no `type`: the CLI's `load_batch_deployment`), beyond [`DEPLOYMENT_FIELDS`].
const BATCH_FIELDS: &[&str] = &[
    "compute",
    "error_threshold",
    "retry_settings",
    "mini_batch_size",
    "logging_level",
    "output_action",
    "output_file_name",
    "max_concurrency_per_instance",
    "resources",
    "type",
    "job_definition",
    "component",
];

/// `ModelBatchDeploymentSchema` (`type: model`), beyond [`DEPLOYMENT_FIELDS`]: the run settings live under
/// `settings`.
const MODEL_BATCH_FIELDS: &[&str] = &["compute", "error_threshold", "resources", "type", "settings"];

/// `PipelineComponentBatchDeploymentSchema` (`type: pipeline`): its whole field set.
const PIPELINE_BATCH_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "endpoint_name",
    "component",
    "settings",
    "type",
    "job_definition",
    "tags",
    "description",
];

/// `OnlineDeploymentSchema` beyond [`DEPLOYMENT_FIELDS`] (`_schema/_deployment/online/online_deployment.py`).
const ONLINE_FIELDS: &[&str] = &[
    "app_insights_enabled",
    "scale_settings",
    "request_settings",
    "liveness_probe",
    "readiness_probe",
    "provisioning_state",
    "instance_count",
    "type",
    "model_mount_path",
    "instance_type",
    "data_collector",
];

/// `ManagedOnlineDeploymentSchema`'s own fields.
const MANAGED_FIELDS: &[&str] = &["egress_public_network_access", "private_network_connection"];

/// `KubernetesOnlineDeploymentSchema`'s own fields.
const KUBERNETES_FIELDS: &[&str] = &["resources"];

/// `EndpointSchema.auth_mode` and `IdentitySchema.type` (`camel_to_snake`), as loaded.
const AUTH_MODES: &[&str] = &["aml_token", "key", "aad_token"];
const IDENTITY_TYPES: &[&str] = &["system_assigned", "user_assigned", "none"];

fn at(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

impl Loader<'_> {
    fn unknown(&self, field: &[&str]) -> SpecError {
        SpecError::UnknownField {
            file: self.file.to_path_buf(),
            location: locate(self.text, field),
            field: field.join("."),
        }
    }

    fn only_fields(&self, m: &Map<String, Value>, allowed: &[&[&str]]) -> Result<()> {
        for k in m.keys() {
            if !allowed.iter().any(|set| set.contains(&k.as_str())) {
                return Err(self.unknown(&[k]));
            }
        }
        Ok(())
    }

    /// An online deployment (`OnlineDeployment._load`: `KubernetesOnlineDeploymentSchema` when `type` is exactly
    /// `kubernetes`, else `ManagedOnlineDeploymentSchema`).
    pub(super) fn online_deployment(&self, doc: &Value) -> Result<()> {
        let Some(m) = doc.as_object() else { return Ok(()) };
        let ty = m.get("type").and_then(Value::as_str);
        let kubernetes = ty == Some("kubernetes");
        if !kubernetes && ty.is_some_and(|t| t.eq_ignore_ascii_case("kubernetes")) {
            return Err(self.err(
                &at(&["type"]),
                format!(
                    "write `type: kubernetes` in lower case: the SDK picks the Kubernetes schema only for that exact \
                     value and loads `{}` as a managed deployment (which needs `instance_type` and has no `resources`)",
                    ty.unwrap_or_default()
                ),
            ));
        }
        // `OnlineDeploymentSchema.type = StringTransformedEnum(allowed_values=[managed, kubernetes],
        // casing_transform=camel_to_snake)`
        if let Some(t) = ty
            && !matches!(super::camel_to_snake(t).as_str(), "managed" | "kubernetes")
        {
            return Err(self.err(
                &at(&["type"]),
                format!("Value '{t}' passed is not in set ['managed', 'kubernetes']"),
            ));
        }
        if !kubernetes {
            // `ManagedOnlineDeploymentSchema.instance_type` is required and it has no `resources`
            self.required(doc, &["instance_type"], &[], "")?;
            if m.contains_key("resources") {
                return Err(self.err(
                    &at(&["resources"]),
                    "Unknown field: `resources` belongs to Kubernetes deployments, which need `type: kubernetes` \
                     (lower case: the SDK picks the schema by an exact match); managed deployments size with \
                     `instance_type`"
                        .into(),
                ));
            }
        } else if let Some(Value::Object(r)) = m.get("resources") {
            // `ResourceSettingsSchema`: `cpu`, `memory`, `gpu` are `fields.String()`
            for group in ["requests", "limits"] {
                if let Some(Value::Object(g)) = r.get(group) {
                    for (k, v) in g {
                        if !matches!(v, Value::String(_) | Value::Null) {
                            return Err(self.err(
                                &at(&["resources", group, k]),
                                format!("Not a valid string: quote the quantity (`{k}: \"{v}\"`)"),
                            ));
                        }
                    }
                }
            }
        }
        let own = if kubernetes {
            KUBERNETES_FIELDS
        } else {
            MANAGED_FIELDS
        };
        self.only_fields(m, &[DEPLOYMENT_FIELDS, ONLINE_FIELDS, own])?;
        if let Some(s) = m.get("scale_settings").filter(|s| s.is_object()) {
            self.scale_settings(s, kubernetes)?;
        }
        self.deployment_common(m)?;
        if let Some(dc) = m.get("data_collector").filter(|v| !v.is_null()) {
            self.data_collector(dc)?;
        }
        Ok(())
    }

    /// A batch deployment: the schema the CLI picks by `type` (none: `BatchDeploymentSchema`, `model`:
    /// `ModelBatchDeploymentSchema`, `pipeline`: `PipelineComponentBatchDeploymentSchema`) and its field set.
    pub(super) fn batch_deployment(&self, doc: &Value) -> Result<()> {
        let Some(m) = doc.as_object() else { return Ok(()) };
        match m.get("type").and_then(Value::as_str) {
            Some("pipeline") => return self.only_fields(m, &[PIPELINE_BATCH_FIELDS]),
            Some("model") => {
                self.only_fields(m, &[DEPLOYMENT_FIELDS, MODEL_BATCH_FIELDS])?;
                // `ModelBatchDeploymentSettings.__init__(*, mini_batch_size, ...)`: a required keyword (the SDK fails
                // with a `TypeError` without it)
                if let Some(s) = m.get("settings").filter(|s| s.is_object()) {
                    self.required(s, &["mini_batch_size"], &at(&["settings"]), "")?;
                }
            }
            _ => self.only_fields(m, &[DEPLOYMENT_FIELDS, BATCH_FIELDS])?,
        }
        self.deployment_common(m)
    }

    /// `scale_settings`: `UnionField([DefaultScaleSettingsSchema, TargetUtilizationScaleSettingsSchema])`, each
    /// with a required `type` and its own fields; managed deployments take the default settings only
    /// (`ManagedOnlineDeployment._validate_scale_settings`).
    fn scale_settings(&self, s: &Value, kubernetes: bool) -> Result<()> {
        self.required(s, &["type"], &at(&["scale_settings"]), "")?;
        let ty = s.get("type").and_then(Value::as_str).unwrap_or_default();
        let allowed: &[&str] = match ty {
            "default" => &["type"],
            "target_utilization" if kubernetes => &[
                "type",
                "polling_interval",
                "target_utilization_percentage",
                "min_instances",
                "max_instances",
            ],
            "target_utilization" => {
                return Err(self.err(
                    &at(&["scale_settings", "type"]),
                    "ManagedOnlineEndpoint supports DefaultScaleSettings only: use `type: default` (target \
                     utilization scaling is for Kubernetes deployments)"
                        .into(),
                ));
            }
            other => {
                return Err(self.err(
                    &at(&["scale_settings", "type"]),
                    format!("Value '{other}' passed is not in set ['default', 'target_utilization']"),
                ));
            }
        };
        if let Some(m) = s.as_object() {
            for k in m.keys() {
                if !allowed.contains(&k.as_str()) {
                    return Err(self.unknown(&["scale_settings", k]));
                }
            }
        }
        Ok(())
    }

    /// An online endpoint: `OnlineEndpoint._load` picks `KubernetesOnlineEndpointSchema` when the file has a
    /// `compute`, else `ManagedOnlineEndpointSchema` (which alone has `public_network_access`).
    pub(super) fn online_endpoint(&self, doc: &Value) -> Result<()> {
        let Some(m) = doc.as_object() else { return Ok(()) };
        let kubernetes = m
            .get("compute")
            .is_some_and(|c| !c.is_null() && c.as_str() != Some(""));
        if kubernetes && m.contains_key("public_network_access") {
            return Err(self.err(
                &at(&["public_network_access"]),
                "Unknown field: endpoints with a `compute` are Kubernetes endpoints, which have no \
                 `public_network_access`"
                    .into(),
            ));
        }
        let one_of = |key: &[&str], allowed: &[&str]| -> Result<()> {
            let v = key.iter().try_fold(doc, |v, k| v.get(*k));
            match v {
                Some(Value::String(s)) if !allowed.contains(&s.as_str()) => {
                    Err(self.err(&at(key), format!("Value '{s}' passed is not in set {allowed:?}")))
                }
                _ => Ok(()),
            }
        };
        one_of(&["auth_mode"], AUTH_MODES)?;
        // `IdentitySchema`: `IdentityConfiguration.__init__(*, type, ...)` needs a type (the SDK fails with a
        // `TypeError` without it)
        if let Some(id) = doc.get("identity").filter(|v| v.is_object()) {
            self.required(id, &["type"], &at(&["identity"]), "")?;
            one_of(&["identity", "type"], IDENTITY_TYPES)?;
        }
        // `OnlineEndpointSchema.validate_traffic`
        if let Some(Value::Object(t)) = m.get("traffic") {
            let sum: i64 = t.values().filter_map(Value::as_i64).sum();
            if sum > 100 {
                return Err(self.err(
                    &at(&["traffic"]),
                    format!(
                        "Traffic rule percentages must sum to less than or equal to 100% (they sum to {sum})"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What `DeploymentSchema` and the deployment entities need of the model, environment and code.
    fn deployment_common(&self, m: &Map<String, Value>) -> Result<()> {
        // `CodeConfiguration`: a scoring script needs its code folder and the other way round (online: `scoring
        // script can't be empty`; batch: the SDK fails with an `AttributeError`/`TypeError`)
        if let Some(cc) = m.get("code_configuration").filter(|c| c.is_object()) {
            self.required(cc, &["code", "scoring_script"], &at(&["code_configuration"]), "")?;
        }
        for (key, what) in [("model", "models"), ("environment", "environments")] {
            match m.get(key) {
                // `UnionField([RegistryStr, ArmVersionedStr, NestedField(...)])`: a reference is `azureml:`-prefixed
                Some(Value::String(s)) if !s.starts_with("azureml:") => {
                    return Err(self.err(
                        &at(&[key]),
                        format!(
                            "In order to specify an existing {what}, prefix the reference with `azureml:` \
                             (`azureml:{s}`), or give a registry path `azureml://registries/...`"
                        ),
                    ));
                }
                Some(Value::Object(asset)) => {
                    // `Asset.__init__`: "If version is specified, name must be specified also."
                    if asset.get("version").is_some_and(|v| !v.is_null())
                        && asset.get("name").is_none_or(Value::is_null)
                    {
                        return Err(self.err(
                            &at(&[key, "version"]),
                            format!("If version is specified, name must be specified also: give the inline {key} a `name`"),
                        ));
                    }
                    // `ModelSchema.type = StringTransformedEnum(allowed_values=[custom_model, mlflow_model,
                    // triton_model])` (lower-cased by the loader)
                    if key == "model"
                        && let Some(t) = asset.get("type").and_then(Value::as_str)
                        && !matches!(t, "custom_model" | "mlflow_model" | "triton_model")
                    {
                        return Err(self.err(
                            &at(&["model", "type"]),
                            format!("Value '{t}' passed is not in set ['custom_model', 'mlflow_model', 'triton_model']"),
                        ));
                    }
                    if key == "model" && asset.get("path").is_none_or(Value::is_null) {
                        // the SDK fails uploading an inline model without a path (`'NoneType' object has no
                        // attribute 'as_posix'`)
                        return Err(self.err(
                            &at(&["model", "path"]),
                            "Missing data for required field: an inline model needs the `path` of its files (or \
                             reference a registered model as `azureml:<name>:<version>`)"
                                .into(),
                        ));
                    }
                    if key == "environment"
                        && let Some(ic) = asset.get("inference_config").filter(|v| !v.is_null())
                    {
                        self.inference_config(ic, &at(&["environment", "inference_config"]))?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `InferenceConfigSchema` (`_schema/assets/environment.py`): the three routes are required, each with a
    /// `port` and a `path` (`RouteSchema`).
    pub(super) fn inference_config(&self, ic: &Value, base: &[String]) -> Result<()> {
        if !ic.is_object() {
            return Ok(());
        }
        self.required(
            ic,
            &["liveness_route", "readiness_route", "scoring_route"],
            base,
            "",
        )?;
        for route in ["liveness_route", "readiness_route", "scoring_route"] {
            let mut p = base.to_vec();
            p.push(route.to_string());
            if let Some(r) = ic.get(route).filter(|r| r.is_object()) {
                self.required(r, &["port", "path"], &p, "")?;
            }
        }
        Ok(())
    }

    /// `DataCollectorSchema`: `DataCollector.__init__(collections, ...)` needs `collections` (a `TypeError`
    /// without it); each collection's `enabled` is required and is the string `'true'` or `'false'`
    /// (`DeploymentCollectionSchema.enabled = StringTransformedEnum(required=True, allowed_values=[...])`, which
    /// refuses a YAML boolean).
    fn data_collector(&self, dc: &Value) -> Result<()> {
        if !dc.is_object() {
            return Ok(());
        }
        self.required(dc, &["collections"], &at(&["data_collector"]), "")?;
        if let Some(Value::Object(cs)) = dc.get("collections") {
            for (name, c) in cs {
                let base = at(&["data_collector", "collections", name]);
                if !c.is_object() {
                    continue;
                }
                self.required(c, &["enabled"], &base, "")?;
                let ok = c
                    .get("enabled")
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false"));
                if !ok {
                    let mut p = base.clone();
                    p.push("enabled".into());
                    return Err(self.err(
                        &p,
                        format!(
                            "Value {} passed is not in set ['true', 'false']: quote it (`enabled: 'true'`)",
                            c["enabled"]
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::{Value, json};

    use crate::plan::Kind;

    fn load(kind: Kind, mut doc: Value) -> Result<Value, String> {
        super::super::load(kind, &mut doc, Path::new("d.yml"), "")
            .map(|()| doc)
            .map_err(|e| e.to_string())
    }

    fn with(mut doc: Value, extra: Value) -> Value {
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                doc.as_object_mut().unwrap().remove(k);
            } else {
                doc[k] = v.clone();
            }
        }
        doc
    }

    fn rejected(kind: Kind, doc: Value, field: &str) {
        let e = load(kind, doc).expect_err("the SDK rejects this");
        assert!(e.contains(&format!("field `{field}`")), "{e}");
    }

    fn online() -> Value {
        json!({"name": "blue", "endpoint_name": "e", "model": "azureml:m:1", "instance_type": "Standard_DS3_v2",
            "code_configuration": {"code": "./src", "scoring_script": "score.py"}, "environment": "azureml:env:1"})
    }

    fn batch_model() -> Value {
        json!({"name": "b", "endpoint_name": "e", "type": "model", "model": "azureml:m:1", "compute": "azureml:c",
            "settings": {"mini_batch_size": 10, "output_action": "append_row"}})
    }

    #[test]
    fn batch_field_sets_follow_the_type() {
        let d = Kind::BatchDeployment;
        assert!(load(d, batch_model()).is_ok());
        rejected(
            d,
            with(batch_model(), json!({"instance_count": 2})),
            "instance_count",
        );
        rejected(
            d,
            with(batch_model(), json!({"mini_batch_size": 2})),
            "mini_batch_size",
        );
        rejected(d, with(batch_model(), json!({"type": null})), "settings");
        let legacy = with(
            batch_model(),
            json!({"type": null, "settings": null, "mini_batch_size": 2}),
        );
        assert!(load(d, legacy).is_ok());
        let pipeline = json!({"name": "p", "endpoint_name": "e", "type": "pipeline", "component": "azureml:c:1",
            "settings": {"default_compute": "c"}, "tags": {"a": "b"}, "description": "x"});
        assert!(load(d, pipeline.clone()).is_ok());
        for field in [
            "identity",
            "experiment_name",
            "resources",
            "properties",
            "app_insights_enabled",
        ] {
            rejected(d, with(pipeline.clone(), json!({ field: {} })), field);
        }
    }

    #[test]
    fn model_batch_settings_need_a_mini_batch_size() {
        let no_size = with(
            batch_model(),
            json!({"settings": {"output_action": "append_row"}}),
        );
        rejected(Kind::BatchDeployment, no_size, "settings.mini_batch_size");
        assert!(
            load(
                Kind::BatchDeployment,
                with(batch_model(), json!({"settings": null}))
            )
            .is_ok()
        );
    }

    #[test]
    fn code_configuration_needs_code_and_script() {
        for kind in [Kind::BatchDeployment, Kind::OnlineDeployment] {
            let base = if matches!(kind, Kind::BatchDeployment) {
                batch_model()
            } else {
                online()
            };
            let cc = |v: Value| with(base.clone(), json!({"code_configuration": v}));
            assert!(load(kind, cc(json!({"code": "./src", "scoring_script": "score.py"}))).is_ok());
            rejected(
                kind,
                cc(json!({"scoring_script": "score.py"})),
                "code_configuration.code",
            );
            rejected(
                kind,
                cc(json!({"code": "./src"})),
                "code_configuration.scoring_script",
            );
        }
    }

    #[test]
    fn references_need_the_azureml_prefix() {
        let d = Kind::OnlineDeployment;
        rejected(d, with(online(), json!({"model": "m:1"})), "model");
        rejected(
            d,
            with(online(), json!({"environment": "env@latest"})),
            "environment",
        );
        assert!(
            load(
                d,
                with(
                    online(),
                    json!({"model": "azureml://registries/r/models/m/versions/1"})
                )
            )
            .is_ok()
        );
        rejected(
            Kind::BatchDeployment,
            with(batch_model(), json!({"model": "m:1"})),
            "model",
        );
    }

    #[test]
    fn inline_models_and_environments() {
        let d = Kind::OnlineDeployment;
        let model = |m: Value| with(online(), json!({ "model": m }));
        assert!(load(d, model(json!({"name": "m", "version": 1, "path": "./model"}))).is_ok());
        assert!(load(d, model(json!({"path": "./model"}))).is_ok());
        rejected(
            d,
            model(json!({"version": 1, "path": "./model"})),
            "model.version",
        );
        rejected(d, model(json!({"name": "m", "version": 1})), "model.path");
        assert!(load(d, model(json!({"path": "./model", "type": "MLFLOW_MODEL"}))).is_ok());
        rejected(d, model(json!({"path": "./model", "type": "foo"})), "model.type");
        let route = json!({"port": 5001, "path": "/"});
        let full = json!({"liveness_route": route, "readiness_route": route, "scoring_route": route});
        let env = |ic: Value| {
            with(
                online(),
                json!({"environment": {"image": "i:1", "inference_config": ic}}),
            )
        };
        assert!(load(d, env(full.clone())).is_ok());
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove("readiness_route");
        rejected(d, env(partial), "environment.inference_config.readiness_route");
        let mut no_port = full;
        no_port["scoring_route"] = json!({"path": "/score"});
        rejected(d, env(no_port), "environment.inference_config.scoring_route.port");
    }

    #[test]
    fn kubernetes_only_for_the_exact_type() {
        let d = Kind::OnlineDeployment;
        let k8s = with(
            online(),
            json!({"type": "kubernetes", "instance_type": null, "resources": {"requests": {"cpu": "0.1", "memory": "0.5Gi"}}}),
        );
        assert!(load(d, k8s.clone()).is_ok());
        rejected(d, with(k8s.clone(), json!({"type": "Kubernetes"})), "type");
        rejected(
            d,
            with(k8s.clone(), json!({"resources": {"limits": {"cpu": 0.2}}})),
            "resources.limits.cpu",
        );
        rejected(
            d,
            with(online(), json!({"resources": {"requests": {"cpu": "1"}}})),
            "resources",
        );
        rejected(d, with(online(), json!({"instance_type": null})), "instance_type");
    }

    #[test]
    fn online_field_sets_types_and_scale_settings() {
        let d = Kind::OnlineDeployment;
        let k8s = with(online(), json!({"type": "kubernetes", "instance_type": null}));
        assert!(
            load(
                d,
                with(
                    online(),
                    json!({"egress_public_network_access": "disabled", "id": "x"})
                )
            )
            .is_ok()
        );
        rejected(
            d,
            with(k8s.clone(), json!({"egress_public_network_access": "disabled"})),
            "egress_public_network_access",
        );
        rejected(
            d,
            with(k8s.clone(), json!({"private_network_connection": true})),
            "private_network_connection",
        );
        rejected(d, with(online(), json!({"with_package": {}})), "with_package");
        rejected(d, with(online(), json!({"type": "foo"})), "type");
        assert!(load(d, with(online(), json!({"type": "Managed"}))).is_ok());
        let scale = |base: &Value, s: Value| with(base.clone(), json!({ "scale_settings": s }));
        assert!(load(d, scale(&online(), json!({"type": "Default"}))).is_ok());
        rejected(
            d,
            scale(&online(), json!({"min_instances": 1})),
            "scale_settings.type",
        );
        rejected(
            d,
            scale(&online(), json!({"type": "default", "min_instances": 1})),
            "scale_settings.min_instances",
        );
        rejected(
            d,
            scale(
                &online(),
                json!({"type": "TargetUtilization", "min_instances": 1}),
            ),
            "scale_settings.type",
        );
        let tu = json!({"type": "TargetUtilization", "min_instances": 1, "max_instances": 3});
        assert!(load(d, scale(&k8s, tu)).is_ok());
        rejected(d, scale(&k8s, json!({"type": "manual"})), "scale_settings.type");
    }

    #[test]
    fn online_endpoint_rules() {
        let e = Kind::OnlineEndpoint;
        let ep = |extra: Value| with(json!({"name": "my-endpoint", "auth_mode": "key"}), extra);
        assert!(
            load(
                e,
                ep(json!({"auth_mode": "AMLToken", "traffic": {"blue": "60", "green": 40}}))
            )
            .is_ok()
        );
        rejected(e, ep(json!({"auth_mode": "none"})), "auth_mode");
        rejected(e, ep(json!({"traffic": {"blue": 60, "green": 50}})), "traffic");
        rejected(e, ep(json!({"traffic": {"blue": "abc"}})), "traffic.blue");
        assert!(load(e, ep(json!({"public_network_access": "disabled"}))).is_ok());
        rejected(
            e,
            ep(json!({"compute": "azureml:k8s", "public_network_access": "disabled"})),
            "public_network_access",
        );
        rejected(e, ep(json!({"identity": {"type": "foo"}})), "identity.type");
        let loaded = load(
            e,
            ep(json!({"identity": {"type": "SystemAssigned"}, "traffic": {"blue": "100"}})),
        )
        .unwrap();
        assert_eq!(loaded["identity"]["type"], "system_assigned");
        assert_eq!(loaded["traffic"]["blue"], 100);
    }

    #[test]
    fn data_collector_collections() {
        let d = Kind::OnlineDeployment;
        let dc = |v: Value| with(online(), json!({ "data_collector": v }));
        assert!(
            load(
                d,
                dc(json!({"collections": {"model_inputs": {"enabled": "True"}}}))
            )
            .is_ok()
        );
        rejected(d, dc(json!({"sampling_rate": 0.5})), "data_collector.collections");
        rejected(
            d,
            dc(json!({"collections": {"model_inputs": {"enabled": true}}})),
            "data_collector.collections.model_inputs.enabled",
        );
        rejected(
            d,
            dc(json!({"collections": {"model_inputs": {}}})),
            "data_collector.collections.model_inputs.enabled",
        );
    }

    #[test]
    fn endpoint_identity_needs_a_type() {
        let e = Kind::OnlineEndpoint;
        assert!(load(e, json!({"name": "e", "identity": {"type": "system_assigned"}})).is_ok());
        rejected(
            e,
            json!({"name": "e", "identity": {"user_assigned_identities": []}}),
            "identity.type",
        );
    }
}
