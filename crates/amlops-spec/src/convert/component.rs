//! Components (standalone and anonymous, as pipelines register them) and pipeline nodes.

use serde_json::{Map, Value, json};

pub(crate) use super::nodes::{anonymous_component, pipeline_nodes, search_space_exprs};
use super::{Ctx, api, opt_str, stringify_map};
use crate::error::Result;
use crate::plan::RestRequest;
use crate::refs::{AssetRef, AssetType, NameKind, validate_name};
use crate::yaml::scalar_to_py_str;

/// Where a component definition comes from (its `_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ComponentForm {
    /// A component file or inline `component:` mapping.
    Component,
    /// An inline command node of a pipeline job.
    Job,
}

impl ComponentForm {
    pub(crate) fn source(self) -> &'static str {
        match self {
            ComponentForm::Component => "YAML.COMPONENT",
            ComponentForm::Job => "YAML.JOB",
        }
    }
}

/// Standalone `az ml component create`.
pub(crate) fn component_request(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    let name = opt_str(m, "name")
        .or_else(|| ctx.opts.name.clone())
        .ok_or_else(|| ctx.err(&["name"], "Missing data for required field."))?;
    validate_name(NameKind::Component, &name).map_err(|e| ctx.err(&["name"], e.to_string()))?;
    let ty = opt_str(m, "type").unwrap_or_else(|| "command".into());
    let (spec, hash_dict) = if ty == "pipeline" {
        pipeline_component_spec(ctx, m, false)?
    } else {
        let m = &*with_spark_default_code(m);
        let code = code_of(ctx, m)?;
        let env = env_of(ctx, m)?;
        component_spec(ctx, m, code, env, false, ComponentForm::Component)?
    };
    let mut hd = hash_dict;
    hd.remove("version");
    let version = opt_scalar_ver(m).unwrap_or_else(|| "1".into());
    let mut props = Map::new();
    props.insert("componentSpec".into(), Value::Object(spec));
    if let Some(d) = opt_str(m, "description") {
        props.insert("description".into(), json!(d));
    }
    props.insert("isAnonymous".into(), json!(false));
    if ty != "pipeline" {
        props.insert("isArchived".into(), json!(false));
    }
    let mut p = match m.get("properties").filter(|v| !v.is_null()) {
        Some(v) if ty == "pipeline" => v.clone(),
        Some(v) => stringify_map(v),
        None => json!({}),
    };
    if let Value::Object(pm) = &mut p
        && ty != "pipeline"
    {
        pm.insert(
            "client_component_hash".into(),
            json!(hash_guid(&Value::Object(hd))),
        );
    }
    props.insert("properties".into(), p);
    props.insert(
        "tags".into(),
        m.get("tags").map(stringify_map).unwrap_or_else(|| json!({})),
    );
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.scope.asset_id("components", &name, Some(&version)),
        api_version: api::COMPONENT.into(),
        body: json!({ "properties": props }),
    })
}

pub(crate) fn opt_scalar_ver(m: &Map<String, Value>) -> Option<String> {
    super::opt_scalar(m, "version")
}

/// sha256 of Python `json.dumps(d, sort_keys=True)` → UUID form of its first 32 hex digits.
pub(crate) fn hash_guid(v: &Value) -> String {
    let s = py_json_dumps(v);
    let h = super::sha256_hex(&s);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Python's `json.dumps(v, sort_keys=True)` (", " and ": " separators, ASCII escapes).
pub(crate) fn py_json_dumps(v: &Value) -> String {
    let mut out = String::new();
    dump(v, &mut out);
    out
}

fn dump(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                out.push_str(&crate::yaml::py_float(n.as_f64().unwrap_or(0.0)));
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => dump_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_str(k, out);
                out.push_str(": ");
                dump(&m[*k], out);
            }
            out.push('}');
        }
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `SparkComponent.__init__` defaults `code` to `"."`: a Spark component file without `code` uploads its own
/// folder. Returns the mapping with that default filled in (only for component files: a Spark node's inline
/// definition passes its own `code`, `None` included).
pub(crate) fn with_spark_default_code(m: &Map<String, Value>) -> std::borrow::Cow<'_, Map<String, Value>> {
    if opt_str(m, "type").as_deref() == Some("spark") && m.get("code").is_none_or(Value::is_null) {
        let mut m = m.clone();
        m.insert("code".into(), json!("."));
        std::borrow::Cow::Owned(m)
    } else {
        std::borrow::Cow::Borrowed(m)
    }
}

pub(crate) fn code_of(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Option<String>> {
    match m.get("code").filter(|v| !v.is_null()) {
        Some(c) => {
            let s = c.as_str().unwrap_or_default();
            if s.starts_with("azureml:") || s.contains("://") {
                return Ok(Some(s.to_string()));
            }
            let includes: Vec<String> = m
                .get("additional_includes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            Ok(Some(format!(
                "azureml:{}",
                ctx.code_with(c, &["code"], &includes)?
            )))
        }
        None => Ok(None),
    }
}

/// The `environment` value as a component spec carries it.
pub(crate) fn env_of(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Option<String>> {
    let env = match m.get("environment").filter(|v| !v.is_null()) {
        Some(e) => e,
        None => return Ok(None),
    };
    spec_env(ctx, env, &["environment"]).map(Some)
}

/// `EnvironmentField` (`_schema/core/fields.py`): a reference string is loaded by `RegistryStr` or
/// `ArmVersionedStr`, both of which need the `azureml:` prefix (`azureml:<name>:<version>`, `azureml:<name>@latest`,
/// `azureml://registries/...`); a bare `name:version` is "Environment schema data cannot be a string".
pub(crate) fn env_prefix(ctx: &Ctx<'_>, env: &Value, field: &[&str]) -> Result<()> {
    if let Value::String(s) = env
        && !s.starts_with("azureml:")
        && !s.trim_start().starts_with("${{")
    {
        return Err(ctx.err(
            field,
            format!(
                "`{s}`: an existing environment is referenced with the `azureml:` prefix (`azureml:{s}`), or \
                 defined inline"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn spec_env(ctx: &mut Ctx<'_>, env: &Value, field: &[&str]) -> Result<String> {
    env_prefix(ctx, env, field)?;
    match env {
        Value::String(s) => {
            if s.starts_with("azureml://") {
                return Ok(s.clone());
            }
            let r = AssetRef::parse(s).map_err(|e| ctx.err(field, e.to_string()))?;
            match r {
                AssetRef::Labelled { name, label } if label == "latest" => {
                    if name.starts_with("AzureML-") {
                        return Ok(s.clone());
                    }
                    let v = ctx.latest(AssetType::Environment, &name)?;
                    Ok(format!(
                        "azureml:{}",
                        ctx.asset_id(AssetType::Environment, &name, &v)
                    ))
                }
                // `OperationOrchestrator.get_asset_arm_id`: a curated environment keeps its short form
                AssetRef::Versioned { name, version }
                    if name.starts_with(crate::refs::CURATED_ENV_PREFIX) =>
                {
                    Ok(format!("azureml:{name}:{version}"))
                }
                AssetRef::Versioned { name, version } => Ok(format!(
                    "azureml:{}",
                    ctx.asset_id(AssetType::Environment, &name, &version)
                )),
                AssetRef::ArmId { id, .. } => Ok(format!("azureml:{id}")),
                // `_resolve_label_to_asset` knows only `latest` (curated environments return before it)
                AssetRef::Labelled { name, .. } if !name.starts_with(crate::refs::CURATED_ENV_PREFIX) => {
                    ctx.asset_ref(AssetType::Environment, s, field)
                }
                _ => Ok(s.clone()),
            }
        }
        Value::Object(em) => {
            // components always register inline environments anonymously
            let mut em = em.clone();
            em.remove("name");
            em.remove("version");
            Ok(format!("azureml:{}", ctx.environment(&Value::Object(em), field)?))
        }
        _ => Err(ctx.err(field, "expected a reference or an inline environment")),
    }
}

/// Builds a component spec (snake_case, as REST `componentSpec`) and the dict the SDK hashes.
pub(crate) fn component_spec(
    ctx: &mut Ctx<'_>,
    m: &Map<String, Value>,
    code: Option<String>,
    env: Option<String>,
    anonymous: bool,
    form: ComponentForm,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let mut spec = Map::new();
    let ty = opt_str(m, "type").unwrap_or_else(|| "command".into());
    super::job::check_distribution(ctx, m, &[])?;
    if ty == "spark" {
        // `SparkComponentSchema.entry`: required, a `file` (or `class_name`) entry
        super::spark::check_entry(ctx, m, &[], true)?;
    }
    for (k, v) in m {
        match k.as_str() {
            "code" => {
                if let Some(c) = &code {
                    spec.insert("code".into(), json!(c));
                }
            }
            "environment" => {
                if let Some(e) = &env {
                    spec.insert("environment".into(), json!(e));
                }
            }
            "version" => {
                spec.insert("version".into(), json!(scalar_to_py_str(v)));
            }
            "inputs" => {
                let ins = spec_inputs(v);
                if !ins.is_empty() {
                    spec.insert("inputs".into(), Value::Object(ins));
                }
            }
            "outputs" => {
                let outs = spec_outputs(v);
                if !outs.is_empty() {
                    spec.insert("outputs".into(), Value::Object(outs));
                }
            }
            "tags" => {
                if v.as_object().is_some_and(|t| !t.is_empty()) {
                    spec.insert("tags".into(), stringify_map(v));
                }
            }
            "limits" => {
                // the component spec is the schema's dump: `CommandJobLimitsSchema.timeout = fields.Int()`
                // stays in seconds (jobs send ISO durations, components do not)
                if let Value::Object(l) = v {
                    spec.insert("limits".into(), Value::Object(l.clone()));
                }
            }
            "distribution" => {
                let mut d = v.clone();
                if let Some(dm) = d.as_object_mut()
                    && dm.get("type").and_then(Value::as_str) == Some("tensorflow")
                    && !dm.contains_key("parameter_server_count")
                {
                    dm.insert("parameter_server_count".into(), json!(0));
                }
                spec.insert(k.clone(), d);
            }
            "jobs" | "task" => {
                // handled by the caller for pipeline/parallel components
                spec.insert(k.clone(), v.clone());
            }
            _ => {
                // `CommandComponent._to_dict` / `SparkComponent._to_dict`: `convert_ordered_dict_to_dict`
                // drops None and `{}` values (a parallel component's empty `resources` is not sent either)
                let empty_map = matches!(ty.as_str(), "command" | "parallel" | "spark")
                    && v.as_object().is_some_and(Map::is_empty);
                if !v.is_null() && !empty_map {
                    spec.insert(k.clone(), v.clone());
                }
            }
        }
    }
    if anonymous {
        spec.insert("name".into(), json!("azureml_anonymous"));
        spec.insert("version".into(), json!("1"));
    }
    if !spec.contains_key("is_deterministic") && ty != "pipeline" {
        spec.insert("is_deterministic".into(), json!(true));
    }
    if !spec.contains_key("type") {
        spec.insert("type".into(), json!(ty));
    }
    if ty == "pipeline" && !spec.contains_key("sourceJobId") {
        spec.insert("sourceJobId".into(), Value::Null);
    }
    // the SDK hashes the spec as sent (min/max/default as strings), without `_source`
    let mut hash = spec.clone();
    // parallel `partition_keys` are hashed as the list, sent as its JSON text
    if let Some(Value::String(pk)) = hash.get("partition_keys")
        && let Ok(list) = serde_json::from_str::<Value>(pk)
    {
        hash.insert("partition_keys".into(), list);
    }
    spec.insert("_source".into(), json!(form.source()));
    Ok((spec, hash))
}

fn spec_inputs(v: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(m) = v {
        for (k, i) in m {
            let mut o = Map::new();
            match i {
                Value::Object(im) => {
                    let ty = opt_str(im, "type").unwrap_or_default();
                    for (ik, iv) in im {
                        match ik.as_str() {
                            "default" | "min" | "max" => {
                                // the SDK casts to the input's type (number → float; integer →
                                // `int(float(v))`: `Input._parse` for the default, `PARAM_PARSERS` for min/max)
                                let iv = match (ty.as_str(), iv) {
                                    ("integer", Value::Number(n)) if n.is_f64() => n
                                        .as_f64()
                                        .filter(|f| f.is_finite())
                                        .map_or(iv.clone(), |f| json!(f.trunc() as i64)),
                                    ("integer", Value::String(s)) => s
                                        .trim()
                                        .parse::<f64>()
                                        .ok()
                                        .filter(|f| f.is_finite())
                                        .map_or(iv.clone(), |f| json!(f.trunc() as i64)),
                                    ("number", Value::Number(n)) => json!(n.as_f64().unwrap_or(0.0)),
                                    ("number", Value::String(s)) => {
                                        s.parse::<f64>().map(|f| json!(f)).unwrap_or(iv.clone())
                                    }
                                    // `Input._parse`: a boolean is `str(val).lower() == "true"`, sent as
                                    // `str(bool)` (`'false'` → `"False"`)
                                    ("boolean", Value::String(s))
                                        if matches!(s.to_lowercase().as_str(), "true" | "false") =>
                                    {
                                        json!(s.eq_ignore_ascii_case("true"))
                                    }
                                    _ => iv.clone(),
                                };
                                o.insert(ik.clone(), json!(scalar_to_py_str(&iv)));
                            }
                            _ => {
                                o.insert(ik.clone(), iv.clone());
                            }
                        }
                    }
                }
                Value::String(t) => {
                    o.insert("type".into(), json!(t));
                }
                _ => {}
            }
            out.insert(k.clone(), Value::Object(o));
        }
    }
    out
}

fn spec_outputs(v: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(m) = v {
        for (k, o) in m {
            let val = match o {
                Value::Object(om) => Value::Object(om.clone()),
                Value::Null => json!({"type": "uri_folder"}),
                Value::String(t) => json!({"type": t}),
                other => other.clone(),
            };
            out.insert(k.clone(), val);
        }
    }
    out
}

pub(crate) fn pipeline_component_spec(
    ctx: &mut Ctx<'_>,
    m: &Map<String, Value>,
    anonymous: bool,
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let jobs = m
        .get("jobs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let nodes = pipeline_nodes(ctx, &jobs, m.get("inputs"))?;
    let mut mm = m.clone();
    mm.insert("jobs".into(), Value::Object(nodes));
    // `PipelineComponent._to_rest_object`: `properties` goes to the component version as written, not into
    // the spec (`PipelineComponentSchema` has no such field)
    mm.remove("properties");
    component_spec(ctx, &mm, None, None, anonymous, ComponentForm::Component)
}

/// Registers an anonymous component (dependency PUT); returns its ARM id.
pub(crate) fn put_anonymous(
    ctx: &mut Ctx<'_>,
    spec: Map<String, Value>,
    mut hash: Map<String, Value>,
) -> String {
    hash.remove("name");
    hash.remove("id");
    hash.remove("version");
    let version = hash_guid(&Value::Object(hash));
    let id = ctx
        .scope
        .asset_id("components", "azureml_anonymous", Some(&version));
    if ctx.has_dep(&id) {
        return id;
    }
    let mut props = Map::new();
    props.insert("componentSpec".into(), Value::Object(spec.clone()));
    if let Some(d) = spec.get("description") {
        props.insert("description".into(), d.clone());
    }
    props.insert("isAnonymous".into(), json!(true));
    if spec.get("type").and_then(Value::as_str) != Some("pipeline") {
        props.insert("isArchived".into(), json!(false));
    }
    props.insert("properties".into(), json!({}));
    props.insert(
        "tags".into(),
        spec.get("tags").cloned().unwrap_or_else(|| json!({})),
    );
    let is_pipeline = spec.get("type").and_then(Value::as_str) == Some("pipeline");
    if is_pipeline && ctx.pipeline_depth > 0 {
        // the SDK registers all leaf components before any pipeline component
        ctx.defer_dep(id.clone(), api::COMPONENT, json!({ "properties": props }));
    } else {
        ctx.push_dep(id.clone(), api::COMPONENT, json!({ "properties": props }));
    }
    id
}

/// `component: azureml:name:ver|name@latest|registry uri|ARM id` → componentId.
pub(crate) fn component_ref(ctx: &mut Ctx<'_>, s: &str, field: &[&str]) -> Result<String> {
    if s.starts_with("azureml:") || s.starts_with('/') {
        return ctx.asset_ref(AssetType::Component, s, field);
    }
    Err(ctx.err(field, format!("`{s}` is not a component reference")))
}
