//! Jobs: command, sweep, pipeline, spark, automl.

use serde_json::{Map, Value, json};

use super::component;
use super::{Ctx, api, camel, camel_keys, iso_duration, opt_str, stringify_map};
use crate::error::Result;
use crate::plan::{RestRequest, UploadRole};
use crate::refs::{AssetRef, AssetType, NameKind, validate_name};
use crate::yaml::scalar_to_py_str;

pub(crate) const COMMON_JOB_FIELDS: &[&str] = &[
    "$schema",
    "type",
    "name",
    "display_name",
    "experiment_name",
    "description",
    "tags",
    "properties",
    "compute",
    "inputs",
    "outputs",
    "identity",
    "services",
    "status",
    "creation_context",
    "id",
    "parent_job_name",
];

/// `CommandJobSchema` (`ParameterizedCommandSchema` + `limits`): fields of a command job and of an inline command
/// pipeline node (`PipelineCommandJobSchema`), besides `COMMON_JOB_FIELDS`.
pub(crate) const COMMAND_FIELDS: &[&str] = &[
    "command",
    "code",
    "environment",
    "environment_variables",
    "resources",
    "distribution",
    "limits",
    "queue_settings",
];

pub(crate) fn job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    let ty = opt_str(m, "type").unwrap_or_else(|| "command".into());
    let name = match opt_str(m, "name").or_else(|| ctx.opts.name.clone()) {
        Some(n) => n,
        None => ctx
            .opts
            .job_name
            .clone()
            .unwrap_or_else(|| "generated-job-name".into()),
    };
    validate_name(NameKind::Job, &name).map_err(|e| ctx.err(&["name"], e.to_string()))?;
    let (mut props, api_version) = match ty.as_str() {
        "command" => (command_job(ctx, m)?, api::COMMAND_JOB),
        "sweep" => (super::sweep::sweep_job(ctx, m)?, api::OTHER_JOB),
        "pipeline" => (pipeline_job(ctx, m)?, api::OTHER_JOB),
        "spark" => (super::spark::spark_job(ctx, m)?, api::SPARK_JOB),
        "automl" => (super::automl::automl_job(ctx, m)?, api::OTHER_JOB),
        other => {
            return Err(ctx.err(
                &["type"],
                format!(
                    "unsupported job type `{other}` (expected command, sweep, pipeline, spark or automl)"
                ),
            ));
        }
    };
    // common fields
    if !props.contains_key("displayName") {
        let dn = opt_str(m, "display_name").unwrap_or_else(|| name.clone());
        props.insert("displayName".into(), json!(dn));
    }
    let exp = opt_str(m, "experiment_name").unwrap_or_else(|| default_experiment(ctx));
    props.insert("experimentName".into(), json!(exp));
    if let Some(d) = opt_str(m, "description") {
        props.insert("description".into(), json!(d));
    }
    let mut tags = m.get("tags").map(stringify_map).unwrap_or_else(|| json!({}));
    if let Value::Object(t) = &mut tags {
        for (k, v) in &ctx.opts.tags {
            t.insert(k.clone(), json!(v));
        }
    }
    props.insert("tags".into(), tags);
    // a Spark job is submitted as the `Spark` node YAML loads into, whose `_to_job` passes neither `properties`
    // nor (to `SparkJob._to_rest_object`) `services`: both are dropped
    let spark = ty == "spark";
    props.insert(
        "properties".into(),
        m.get("properties")
            .filter(|_| !spark)
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    props.insert("isArchived".into(), json!(false));
    if let Some(c) = m.get("compute").filter(|v| !v.is_null()) {
        let id = ctx.compute_id(c, &["compute"])?;
        props.insert("computeId".into(), json!(id));
    }
    if let Some(i) = m.get("identity").filter(|v| !v.is_null()) {
        props.insert("identity".into(), identity(i));
    }
    if let Some(s) = m.get("services").filter(|v| !v.is_null() && !spark) {
        let s = if ty == "automl" {
            super::automl::automl_services(s)
        } else {
            services(s)
        };
        props.insert("services".into(), s);
    }
    let path = ctx.scope.asset_id("jobs", &name, None);
    Ok(RestRequest {
        method: "PUT".into(),
        path,
        api_version: api_version.into(),
        body: json!({ "properties": props }),
    })
}

fn default_experiment(ctx: &Ctx<'_>) -> String {
    let dir = ctx.src.file.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        std::env::current_dir().unwrap_or_default()
    } else {
        std::fs::canonicalize(&dir).unwrap_or(dir)
    };
    dir.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "Default".into())
}

fn identity(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            if k == "type" {
                let t = v.as_str().unwrap_or_default();
                let t = match t {
                    "user_identity" => "UserIdentity",
                    "managed" | "managed_identity" => "Managed",
                    "aml_token" => "AMLToken",
                    other => other,
                };
                out.insert("identityType".into(), json!(t));
            } else {
                out.insert(camel(k), v.clone());
            }
        }
    }
    Value::Object(out)
}

fn services(v: &Value) -> Value {
    services_form(v, false)
}

/// Interactive services; `snake` for pipeline nodes (`job_service_type`).
pub(crate) fn services_form(v: &Value, snake: bool) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.as_object() {
        for (name, svc) in m {
            let mut s = Map::new();
            let mut props = Map::new();
            if let Some(sm) = svc.as_object() {
                // `BaseJobSchema.services` is a strict union of the per-type schemas: without a `type`,
                // `log_dir` only fits `TensorBoardJobServiceSchema` and `ssh_public_keys` only
                // `SshJobServiceSchema`, whose entities set their own type
                // `SshJobServiceSchema` comes first and its `type` is optional, so a service without `type`
                // and without `log_dir` loads as `SshJobService`, whose `_to_rest_object` sends `SSH`
                let inferred = if sm.contains_key("type") {
                    None
                } else if sm.contains_key("log_dir") {
                    Some("TensorBoard")
                } else {
                    Some("SSH")
                };
                if let Some(t) = inferred {
                    s.insert(
                        if snake {
                            "job_service_type"
                        } else {
                            "jobServiceType"
                        }
                        .into(),
                        json!(t),
                    );
                }
                for (k, v) in sm {
                    match k.as_str() {
                        "type" => {
                            let t = match v.as_str().unwrap_or_default() {
                                "jupyter_lab" => "JupyterLab",
                                "ssh" => "SSH",
                                "tensor_board" => "TensorBoard",
                                "vs_code" => "VSCode",
                                other => other,
                            };
                            let key = if snake {
                                "job_service_type"
                            } else {
                                "jobServiceType"
                            };
                            s.insert(key.into(), json!(t));
                        }
                        "log_dir" => {
                            props.insert("logDir".into(), v.clone());
                        }
                        "ssh_public_keys" => {
                            props.insert("sshPublicKeys".into(), v.clone());
                        }
                        "nodes" => {
                            s.insert("nodes".into(), json!({"nodesValueType": "All"}));
                        }
                        _ => {
                            s.insert(if snake { k.clone() } else { camel(k) }, camel_keys(v));
                        }
                    }
                }
            }
            if !props.is_empty() {
                s.insert("properties".into(), Value::Object(props));
            }
            out.insert(name.clone(), Value::Object(s));
        }
    }
    Value::Object(out)
}

fn mode(s: &str) -> String {
    match s {
        "mount" => "ReadWriteMount",
        "ro_mount" => "ReadOnlyMount",
        "rw_mount" => "ReadWriteMount",
        "upload" => "Upload",
        "download" => "Download",
        "direct" => "Direct",
        "eval_mount" => "EvalMount",
        "eval_download" => "EvalDownload",
        other => other,
    }
    .to_string()
}

const LITERAL_TYPES: &[&str] = &["string", "integer", "number", "boolean"];

/// A data path of an input: local → upload, `azureml:name:ver` → ARM id, else unchanged.
fn input_uri(ctx: &mut Ctx<'_>, ty: &str, path: &str, field: &[&str]) -> Result<String> {
    // `JobOperations._resolve_job_input`: a path that is no URL, ARM id or absolute path but holds `:` or `@`
    // is an asset reference (`get_asset_arm_id`), with or without the `azureml:` prefix
    if !super::is_remote(path)
        && !path.starts_with("${{")
        && !path.starts_with('/')
        && path.contains([':', '@'])
    {
        let prefixed = format!("azureml:{path}");
        return input_uri(ctx, ty, &prefixed, field);
    }
    if path.starts_with("azureml:") && !path.starts_with("azureml://") {
        let asset = if ty.ends_with("_model") {
            AssetType::Model
        } else {
            AssetType::Data
        };
        return match AssetRef::parse(path).map_err(|e| ctx.err(field, e.to_string()))? {
            AssetRef::Named { .. } => Ok(path.to_string()),
            _ => ctx.asset_ref(asset, path, field),
        };
    }
    // `JobOperations._resolve_job_input`: a local path is uploaded and, for `uri_folder` inputs only, the
    // remote URI gets a trailing `/` (whatever the local path is)
    ctx.data_path(UploadRole::JobInput, path, false, ty == "uri_folder")
}

/// Top-level job inputs (camelCase REST form).
pub(crate) fn job_inputs(ctx: &mut Ctx<'_>, v: Option<&Value>, at: &str) -> Result<Value> {
    let mut out = Map::new();
    let Some(Value::Object(m)) = v else {
        return Ok(Value::Object(out));
    };
    for (k, v) in m {
        let field = [at, "inputs", k.as_str()];
        let field: Vec<&str> = field.iter().copied().filter(|s| !s.is_empty()).collect();
        let item = match v {
            Value::Object(im) => {
                let ty = opt_str(im, "type").unwrap_or_else(|| "uri_folder".into());
                if LITERAL_TYPES.contains(&ty.as_str())
                    || (!im.contains_key("path") && im.contains_key("value"))
                {
                    let val = im
                        .get("value")
                        .or_else(|| im.get("default"))
                        .cloned()
                        .unwrap_or(Value::Null);
                    json!({"value": scalar_to_py_str(&val), "jobInputType": "literal"})
                } else {
                    let mut o = Map::new();
                    match im.get("path").and_then(Value::as_str) {
                        Some(p) => {
                            let uri = input_uri(ctx, &ty, p, &field)?;
                            o.insert("uri".into(), json!(uri));
                        }
                        None => return Err(ctx.err(&field, "Input path can't be empty for jobs.")),
                    }
                    if let Some(md) = opt_str(im, "mode") {
                        o.insert("mode".into(), json!(mode(&md)));
                    }
                    if let Some(d) = opt_str(im, "description") {
                        o.insert("description".into(), json!(d));
                    }
                    o.insert("jobInputType".into(), json!(ty));
                    Value::Object(o)
                }
            }
            Value::Null => continue,
            scalar => json!({"value": scalar_to_py_str(scalar), "jobInputType": "literal"}),
        };
        out.insert(k.clone(), item);
    }
    Ok(Value::Object(out))
}

/// Top-level job outputs.
pub(crate) fn job_outputs(ctx: &mut Ctx<'_>, v: Option<&Value>) -> Result<Value> {
    let mut out = Map::new();
    let Some(Value::Object(m)) = v else {
        return Ok(Value::Object(out));
    };
    for (k, v) in m {
        let mut o = Map::new();
        let mut ty = "uri_folder".to_string();
        if let Value::Object(om) = v {
            if let Some(t) = opt_str(om, "type") {
                ty = t;
            }
            if let Some(p) = opt_str(om, "path") {
                let uri = if p.starts_with("azureml:") || p.contains("://") || p.starts_with("${{") {
                    p
                } else {
                    ctx.data_path(UploadRole::JobInput, &p, false, false)?
                };
                o.insert("uri".into(), json!(uri));
            }
            if let Some(md) = opt_str(om, "mode") {
                o.insert("mode".into(), json!(mode(&md)));
            }
            if let Some(d) = opt_str(om, "description") {
                o.insert("description".into(), json!(d));
            }
            if let Some(n) = opt_str(om, "name") {
                o.insert("assetName".into(), json!(n));
            }
            if let Some(n) = om.get("version").filter(|v| !v.is_null()) {
                o.insert("assetVersion".into(), json!(scalar_to_py_str(n)));
            }
        } else if let Value::String(s) = v {
            o.insert("uri".into(), json!(s));
        }
        o.insert("jobOutputType".into(), json!(ty));
        out.insert(k.clone(), Value::Object(o));
    }
    Ok(Value::Object(out))
}

pub(crate) fn resources(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            if k == "properties" {
                continue;
            }
            out.insert(camel(k), v.clone());
        }
        out.insert(
            "properties".into(),
            m.get("properties").cloned().unwrap_or_else(|| json!({})),
        );
    }
    Value::Object(out)
}

/// `DistributionField` (`_schema/core/fields.py`): a union of the PyTorch, TensorFlow, MPI and Ray distribution
/// schemas, each of which requires its `type`.
pub(crate) fn check_distribution(ctx: &Ctx<'_>, m: &Map<String, Value>, at: &[&str]) -> Result<()> {
    if let Some(Value::Object(d)) = m.get("distribution")
        && d.get("type").is_none_or(Value::is_null)
    {
        return Err(ctx.err(
            &[at, &["distribution", "type"]].concat(),
            "Missing data for required field. Give the distribution type: pytorch, tensorflow, mpi or ray",
        ));
    }
    Ok(())
}

fn distribution(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            if k == "type" {
                let t = match v.as_str().unwrap_or_default() {
                    "pytorch" => "PyTorch",
                    "tensorflow" => "TensorFlow",
                    "mpi" => "Mpi",
                    "ray" => "Ray",
                    other => other,
                };
                out.insert("distributionType".into(), json!(t));
            } else {
                out.insert(camel(k), v.clone());
            }
        }
    }
    Value::Object(out)
}

pub(crate) fn timeout_value(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(iso_duration(n.as_f64().unwrap_or(0.0))),
        other => other.clone(),
    }
}

pub(crate) fn command_props(
    ctx: &mut Ctx<'_>,
    m: &Map<String, Value>,
    at: &str,
) -> Result<Map<String, Value>> {
    let mut p = Map::new();
    let f = |k: &str| -> Vec<String> {
        if at.is_empty() {
            vec![k.to_string()]
        } else {
            vec![at.to_string(), k.to_string()]
        }
    };
    let command = m.get("command").and_then(Value::as_str).ok_or_else(|| {
        let fld = f("command");
        let fr: Vec<&str> = fld.iter().map(String::as_str).collect();
        ctx.err(&fr, "Missing data for required field.")
    })?;
    p.insert("command".into(), json!(command));
    if let Some(c) = m.get("code").filter(|v| !v.is_null()) {
        let fld = f("code");
        let fr: Vec<&str> = fld.iter().map(String::as_str).collect();
        let id = ctx.code(c, &fr)?;
        p.insert("codeId".into(), json!(id));
    }
    let env = m.get("environment").ok_or_else(|| {
        let fld = f("environment");
        let fr: Vec<&str> = fld.iter().map(String::as_str).collect();
        ctx.err(&fr, "Missing data for required field.")
    })?;
    let fld = f("environment");
    let fr: Vec<&str> = fld.iter().map(String::as_str).collect();
    component::env_prefix(ctx, env, &fr)?;
    let env_id = ctx.environment(env, &fr)?;
    p.insert("environmentId".into(), json!(env_id));
    p.insert(
        "environmentVariables".into(),
        m.get("environment_variables")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    if let Some(r) = m.get("resources").filter(|v| !v.is_null()) {
        p.insert("resources".into(), resources(r));
    }
    {
        let fld = f("distribution");
        let at: Vec<&str> = fld.iter().take(fld.len() - 1).map(String::as_str).collect();
        check_distribution(ctx, m, &at)?;
    }
    if let Some(d) = m.get("distribution").filter(|v| !v.is_null()) {
        p.insert("distribution".into(), distribution(d));
    }
    if let Some(Value::Object(l)) = m.get("limits") {
        let mut lim = Map::new();
        for (k, v) in l {
            lim.insert(
                camel(k),
                if k == "timeout" {
                    timeout_value(v)
                } else {
                    v.clone()
                },
            );
        }
        lim.insert("jobLimitsType".into(), json!("Command"));
        p.insert("limits".into(), Value::Object(lim));
    }
    if let Some(q) = m.get("queue_settings").filter(|v| !v.is_null()) {
        p.insert("queueSettings".into(), super::queue_settings(q));
    }
    Ok(p)
}

fn command_job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut allowed = COMMON_JOB_FIELDS.to_vec();
    allowed.extend(COMMAND_FIELDS);
    ctx.check_fields(m, &[], &allowed)?;
    let mut p = command_props(ctx, m, "")?;
    p.insert("inputs".into(), job_inputs(ctx, m.get("inputs"), "")?);
    p.insert("outputs".into(), job_outputs(ctx, m.get("outputs"))?);
    p.insert("jobType".into(), json!("Command"));
    Ok(p)
}

// ---------- pipelines ----------

fn pipeline_job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut allowed = COMMON_JOB_FIELDS.to_vec();
    allowed.extend(["jobs", "settings", "component"]);
    ctx.check_fields(m, &[], &allowed)?;
    let mut p = Map::new();
    let from_component = m.get("component").and_then(Value::as_str);
    if let Some(c) = from_component {
        let id = if c.starts_with("azureml:") || c.starts_with('/') {
            component::component_ref(ctx, c, &["component"])?
        } else {
            let (src, doc) = ctx.load_nested(c, &["component"])?;
            let cm = doc
                .as_object()
                .cloned()
                .ok_or_else(|| ctx.err(&["component"], "component file is not a mapping"))?;
            // `PipelineJob.__init__`: a job built from a `PipelineComponent` takes the component's
            // `description` and `display_name` when it sets none
            if cm.get("type").and_then(Value::as_str) == Some("pipeline") {
                for (key, rest) in [("display_name", "displayName"), ("description", "description")] {
                    if m.get(key).is_none_or(Value::is_null)
                        && let Some(v) = cm.get(key).filter(|v| !v.is_null())
                    {
                        p.insert(rest.into(), v.clone());
                    }
                }
            }
            ctx.with_source(src, |cx| component::anonymous_component(cx, &cm))?
        };
        p.insert("componentId".into(), json!(id));
        p.insert("jobs".into(), json!({}));
    } else {
        let jobs = m
            .get("jobs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let nodes = component::pipeline_nodes(ctx, &jobs, m.get("inputs"))?;
        p.insert("jobs".into(), Value::Object(nodes));
    }
    p.insert("inputs".into(), job_inputs(ctx, m.get("inputs"), "")?);
    p.insert("outputs".into(), job_outputs(ctx, m.get("outputs"))?);
    let mut settings = Map::new();
    if let Some(Value::Object(s)) = m.get("settings") {
        for (k, v) in s {
            let val = match (k.as_str(), v) {
                ("default_compute", Value::String(c)) => json!(ctx.compute_id(&json!(c), &["settings", k])?),
                ("default_datastore", Value::String(d)) => {
                    let n = d.strip_prefix("azureml:").unwrap_or(d);
                    if n.starts_with('/') || n.starts_with("${{") {
                        json!(n)
                    } else {
                        json!(ctx.scope.asset_id("datastores", n, None))
                    }
                }
                _ => v.clone(),
            };
            settings.insert(k.clone(), val);
        }
    }
    let source = if from_component.is_some() {
        "REMOTE.WORKSPACE.JOB"
    } else {
        "YAML.JOB"
    };
    settings.insert("_source".into(), json!(source));
    p.insert("settings".into(), Value::Object(settings));
    p.insert("jobType".into(), json!("Pipeline"));
    Ok(p)
}

/// Node-level inputs (snake_case REST form used inside `jobs`).
pub(crate) fn node_inputs(ctx: &mut Ctx<'_>, v: Option<&Value>, node: &str) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let Some(Value::Object(m)) = v else {
        return Ok(out);
    };
    for (k, v) in m {
        let field = ["jobs", node, "inputs", k.as_str()];
        let item = match v {
            Value::Object(im) => {
                let ty = opt_str(im, "type");
                if im.get("path").is_some() {
                    let ty = ty.unwrap_or_else(|| "uri_folder".into());
                    let p = im.get("path").and_then(Value::as_str).unwrap_or_default();
                    let mut o = Map::new();
                    // `JobOperations._resolve_job_input` passes a path through only when it is a single binding
                    // (`is_data_binding_expression`: `^\$\{\{\s*\S*?\s*\}\}$`), an ARM id or a URL; any other path
                    // without `:` or `@` is a local path to upload, which `${{...}}/` or `./${{...}}` never is
                    if p.contains("${{")
                        && !singular_binding(p)
                        && !super::is_remote(p)
                        && !p.contains([':', '@'])
                    {
                        return Err(ctx.err(
                            &field,
                            format!(
                                "`{p}`: a path holding a binding must be the binding alone (`${{{{parent.jobs.<node>.outputs.<port>}}}}`); \
                                 with anything around it the SDK takes it as a local path, which does not exist"
                            ),
                        ));
                    }
                    if singular_binding(p) {
                        // a binding stays a literal reference, keeping its mode
                        o.insert("value".into(), json!(p));
                        o.insert("job_input_type".into(), json!("literal"));
                        if let Some(md) = opt_str(im, "mode") {
                            o.insert("mode".into(), json!(mode(&md)));
                        }
                        Value::Object(o)
                    } else {
                        let uri = input_uri(ctx, &ty, p, &field)?;
                        o.insert("uri".into(), json!(uri));
                        if let Some(md) = opt_str(im, "mode") {
                            o.insert("mode".into(), json!(mode(&md)));
                        }
                        o.insert("job_input_type".into(), json!(ty));
                        Value::Object(o)
                    }
                } else if let Some(val) = im.get("value").or_else(|| im.get("default")) {
                    json!({"value": scalar_to_py_str(val), "job_input_type": "literal"})
                } else {
                    let mut o = Map::new();
                    if let Some(md) = opt_str(im, "mode") {
                        o.insert("mode".into(), json!(mode(&md)));
                    }
                    o.insert(
                        "job_input_type".into(),
                        json!(ty.unwrap_or_else(|| "uri_folder".into())),
                    );
                    Value::Object(o)
                }
            }
            Value::Null => continue,
            scalar => json!({"value": scalar_to_py_str(scalar), "job_input_type": "literal"}),
        };
        out.insert(k.clone(), item);
    }
    Ok(out)
}

/// `is_data_binding_expression(value)` (singular): the whole value is one `${{...}}` without spaces inside.
fn singular_binding(p: &str) -> bool {
    p.strip_prefix("${{")
        .and_then(|r| r.strip_suffix("}}"))
        .is_some_and(|inner| {
            let t = inner.trim();
            !t.contains(char::is_whitespace) && !t.contains("}}") && !t.contains("${{")
        })
}

/// Node-level outputs.
pub(crate) fn node_outputs(ctx: &mut Ctx<'_>, v: Option<&Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    let Some(Value::Object(m)) = v else {
        return Ok(out);
    };
    for (k, v) in m {
        let item = match v {
            Value::String(s) => json!({"value": s, "type": "literal"}),
            Value::Object(om) if opt_str(om, "path").is_some_and(|p| p.starts_with("${{")) => {
                let mut o = Map::new();
                o.insert("value".into(), json!(opt_str(om, "path")));
                o.insert("type".into(), json!("literal"));
                if let Some(md) = opt_str(om, "mode") {
                    o.insert("mode".into(), json!(mode(&md)));
                }
                Value::Object(o)
            }
            Value::Object(om) => {
                let mut o = Map::new();
                if let Some(p) = opt_str(om, "path") {
                    // a path holding a binding (`./${{parent.outputs.x}}`) is not a local path: sent as written
                    let uri = if p.contains("://") || p.starts_with("azureml:") || p.contains("${{") {
                        p
                    } else {
                        ctx.data_path(UploadRole::JobInput, &p, false, false)?
                    };
                    o.insert("uri".into(), json!(uri));
                }
                if let Some(md) = opt_str(om, "mode") {
                    o.insert("mode".into(), json!(mode(&md)));
                }
                if let Some(n) = opt_str(om, "name") {
                    o.insert("asset_name".into(), json!(n));
                }
                if let Some(n) = om.get("version").filter(|v| !v.is_null()) {
                    o.insert("asset_version".into(), json!(scalar_to_py_str(n)));
                }
                o.insert(
                    "job_output_type".into(),
                    json!(opt_str(om, "type").unwrap_or_else(|| "uri_folder".into())),
                );
                Value::Object(o)
            }
            _ => continue,
        };
        out.insert(k.clone(), item);
    }
    Ok(out)
}

/// Node-level resources/limits/distribution in snake_case.
pub(crate) fn node_runsettings(m: &Map<String, Value>, node: &mut Map<String, Value>) {
    if let Some(Value::Object(l)) = m.get("limits") {
        let mut lim = Map::new();
        for (k, v) in l {
            lim.insert(
                k.clone(),
                if k == "timeout" {
                    timeout_value(v)
                } else {
                    v.clone()
                },
            );
        }
        lim.insert("job_limits_type".into(), json!("Command"));
        node.insert("limits".into(), Value::Object(lim));
    }
    // an empty `resources: {}` is dropped (`get_rest_dict_for_node_attrs(..., clear_empty_value=True)`)
    if let Some(r) = m
        .get("resources")
        .filter(|v| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
    {
        let mut r = r.clone();
        // spark nodes using a component file send the instance type lower-cased
        if m.get("type").and_then(Value::as_str) == Some("spark")
            && m.get("component").is_some()
            && let Some(t) = r
                .get("instance_type")
                .and_then(Value::as_str)
                .map(str::to_lowercase)
        {
            r["instance_type"] = json!(t);
        }
        node.insert("resources".into(), r);
    }
    if let Some(Value::Object(d)) = m.get("distribution") {
        let mut out = Map::new();
        if d.get("type").and_then(Value::as_str) == Some("tensorflow")
            && !d.contains_key("parameter_server_count")
        {
            out.insert("parameter_server_count".into(), json!(0));
        }
        for (k, v) in d {
            if k == "type" {
                out.insert(
                    "distribution_type".into(),
                    distribution(&json!({"type": v}))["distributionType"].clone(),
                );
            } else {
                out.insert(k.clone(), v.clone());
            }
        }
        node.insert("distribution".into(), Value::Object(out));
    }
    // `ParameterizedCommandSchema.environment_variables` is a plain `Dict()` and nodes are sent as the
    // loaded dict: values keep their YAML type
    if let Some(e) = m.get("environment_variables").filter(|v| !v.is_null()) {
        node.insert("environment_variables".into(), e.clone());
    }
    if let Some(s) = m.get("services").filter(|v| !v.is_null()) {
        node.insert("services".into(), services_form(s, true));
    }
}
