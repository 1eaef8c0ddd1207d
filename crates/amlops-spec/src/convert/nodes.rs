//! Pipeline nodes (`jobs:` of pipeline jobs and pipeline components): each node's REST form and the
//! anonymous components its inline or file definitions register (`azure.ai.ml.entities._builders`).

use serde_json::{Map, Value, json};

use super::component::{
    ComponentForm, code_of, component_ref, component_spec, env_of, pipeline_component_spec, put_anonymous,
    py_json_dumps, spec_env,
};
use super::job::{node_inputs, node_outputs, node_runsettings};
use super::node_rules::{NodeView, validate_nodes};
use super::{Ctx, Source, opt_str, stringify_map};
use crate::error::Result;
use crate::yaml::scalar_to_py_str;

/// A node's component definition, loaded in the first pass.
struct NodeDef {
    key: String,
    node: Map<String, Value>,
    /// Component mapping and the file it came from (None for references).
    def: Option<(Source, Map<String, Value>, ComponentForm)>,
    env: Option<String>,
    /// Resolved `task` of an inline parallel node.
    task: Option<Value>,
}

/// Converts pipeline `jobs`: first every node's environment (as the SDK resolves them), then per
/// node its code and anonymous component, then the node itself.
pub(crate) fn pipeline_nodes(
    ctx: &mut Ctx<'_>,
    jobs: &Map<String, Value>,
    parent_inputs: Option<&Value>,
) -> Result<Map<String, Value>> {
    ctx.pipeline_depth += 1;
    let r = pipeline_nodes_inner(ctx, jobs, parent_inputs);
    ctx.pipeline_depth -= 1;
    if ctx.pipeline_depth == 0 {
        ctx.flush_deferred();
    }
    r
}

/// A node's type: as written, else its component's (`type` is optional on a node whose component is loaded
/// from a file, the SDK builds the node its component's type gives), else command.
fn node_type(d: &NodeDef) -> String {
    opt_str(&d.node, "type")
        .or_else(|| d.def.as_ref().and_then(|(_, cm, _)| opt_str(cm, "type")))
        .unwrap_or_else(|| "command".into())
}

fn pipeline_nodes_inner(
    ctx: &mut Ctx<'_>,
    jobs: &Map<String, Value>,
    parent_inputs: Option<&Value>,
) -> Result<Map<String, Value>> {
    let mut defs = Vec::new();
    for (key, node) in jobs {
        let field = ["jobs", key.as_str()];
        let node = node
            .as_object()
            .ok_or_else(|| ctx.err(&field, "a pipeline node must be a mapping"))?
            .clone();
        let is_sweep = opt_str(&node, "type").is_some_and(|t| t == "sweep");
        let comp_key = if is_sweep { "trial" } else { "component" };
        let def = match node.get(comp_key) {
            Some(Value::String(s)) if s.starts_with("azureml:") || s.starts_with('/') => None,
            Some(Value::String(path)) => {
                let (src, doc) = ctx.load_nested(path, &["jobs", key, comp_key])?;
                let dm = doc
                    .as_object()
                    .cloned()
                    .ok_or_else(|| ctx.err(&["jobs", key, comp_key], "component file is not a mapping"))?;
                // `file:` references are loaded the way job YAML is (the SDK tags them YAML.JOB)
                let form = if path.starts_with("file:") {
                    ComponentForm::Job
                } else {
                    ComponentForm::Component
                };
                Some((src, dm, form))
            }
            Some(Value::Object(cm)) => Some((ctx.src.clone(), cm.clone(), ComponentForm::Job)),
            Some(_) => {
                return Err(ctx.err(
                    &["jobs", key, "component"],
                    "expected a path, reference or mapping",
                ));
            }
            None => {
                let ty = opt_str(&node, "type").unwrap_or_else(|| "command".into());
                let spark = ty == "spark";
                if ty == "parallel" {
                    Some((
                        ctx.src.clone(),
                        parallel_def(&node, parent_inputs, jobs),
                        ComponentForm::Job,
                    ))
                } else if ty != "command" && !spark {
                    None
                } else {
                    let mut cm = Map::new();
                    let keys: &[&str] = if spark {
                        &[
                            "code",
                            "entry",
                            "py_files",
                            "jars",
                            "files",
                            "archives",
                            "conf",
                            "args",
                            "environment",
                        ]
                    } else {
                        &["command", "code", "environment", "resources", "distribution"]
                    };
                    for k in keys {
                        if let Some(v) = node.get(*k) {
                            cm.insert((*k).into(), v.clone());
                        }
                    }
                    let ins = infer_inputs(node.get("inputs"), parent_inputs, jobs, spark);
                    if !ins.is_empty() {
                        cm.insert("inputs".into(), Value::Object(ins));
                    }
                    let mut outs = Map::new();
                    if let Some(Value::Object(o)) = node.get("outputs") {
                        for (ok, ov) in o {
                            let om = ov.as_object();
                            let t = om
                                .and_then(|m| opt_str(m, "type"))
                                .unwrap_or_else(|| "uri_folder".into());
                            let mut out = Map::new();
                            out.insert("type".into(), json!(t));
                            if let Some(md) = om.and_then(|m| opt_str(m, "mode")) {
                                out.insert("mode".into(), json!(md));
                            } else if spark {
                                out.insert("mode".into(), json!("direct"));
                            }
                            outs.insert(ok.clone(), Value::Object(out));
                        }
                    }
                    if !outs.is_empty() {
                        cm.insert("outputs".into(), Value::Object(outs));
                    }
                    cm.insert("type".into(), json!(ty));
                    Some((ctx.src.clone(), cm, ComponentForm::Job))
                }
            }
        };
        defs.push(NodeDef {
            key: key.clone(),
            node,
            def,
            env: None,
            task: None,
        });
    }
    let views: Vec<NodeView<'_>> = defs
        .iter()
        .map(|d| NodeView {
            key: &d.key,
            node: &d.node,
            def: d.def.as_ref().map(|(_, cm, _)| cm),
        })
        .collect();
    validate_nodes(ctx, &views, parent_inputs)?;
    // pass 1: environments
    for d in &mut defs {
        if let Some((src, cm, _)) = &d.def
            && let Some(env) = cm.get("environment").filter(|v| !v.is_null())
        {
            let env = env.clone();
            let key = d.key.clone();
            let e = ctx.with_source(src.clone(), |c| spec_env(c, &env, &["jobs", &key, "environment"]))?;
            d.env = Some(e);
        }
    }
    // pass 1b: code and environment of inline parallel tasks
    for d in &mut defs {
        if let Some((src, cm, _)) = &d.def
            && cm.get("type").and_then(Value::as_str) == Some("parallel")
            && let Some(Value::Object(task)) = cm.get("task")
        {
            let task = task.clone();
            let key = d.key.clone();
            let resolved = ctx.with_source(src.clone(), |c| resolve_task(c, &task, &key))?;
            d.task = Some(resolved);
        }
    }
    // pass 2: code, component, node; nested pipelines after the other nodes (SDK order)
    let (nested, leaves): (Vec<NodeDef>, Vec<NodeDef>) =
        defs.into_iter().partition(|d| node_type(d) == "pipeline");
    let mut out = Map::new();
    let mut built: Vec<(String, Value)> = Vec::new();
    for d in leaves.into_iter().chain(nested) {
        let mut node = Map::new();
        let key = d.key.as_str();
        node.insert("name".into(), json!(key));
        let ty = node_type(&d);
        node.insert("type".into(), json!(ty));
        if let Some(c) = d.node.get("compute").filter(|v| !v.is_null()) {
            // `PipelineSchema` (pipeline nodes) has no `compute` field: `unknown=INCLUDE` keeps it as written
            // and `OperationOrchestrator.get_asset_arm_id` formats the ARM id around it, `azureml:` included
            let id = match c.as_str() {
                Some(raw)
                    if ty == "pipeline" && raw.starts_with("azureml:") && !raw.starts_with("azureml:/") =>
                {
                    ctx.scope.asset_id("computes", raw, None)
                }
                _ => ctx.compute_id(c, &["jobs", key, "compute"])?,
            };
            if ty == "automl" {
                // `_resolve_arm_id_for_automl_job` resolves it to an ARM id; the AutoML node dict
                // (`AutoMLNodeMixin.compute = ComputeField`, `ArmStr` dump) sends it as `compute: azureml:<id>`
                let v = if id.starts_with('/') {
                    format!("azureml:{id}")
                } else {
                    id
                };
                node.insert("compute".into(), json!(v));
            } else {
                node.insert("computeId".into(), json!(id));
            }
        }
        let mut ins = node_inputs(ctx, d.node.get("inputs"), key)?;
        // inputs the component does not declare are dropped, as the SDK does
        if let Some((_, cm, _)) = &d.def
            && let Some(Value::Object(declared)) = cm.get("inputs")
        {
            ins.retain(|k, _| declared.contains_key(k));
        }
        if !ins.is_empty() {
            node.insert("inputs".into(), Value::Object(ins));
        }
        let mut outs = node_outputs(ctx, d.node.get("outputs"))?;
        // `BaseNode.__init__`: with the component's definition at hand, `_build_outputs_dict` keeps only
        // the outputs the component declares
        if let Some((_, cm, _)) = &d.def {
            let declared = cm.get("outputs").and_then(Value::as_object);
            outs.retain(|k, _| declared.is_some_and(|o| o.contains_key(k)));
        }
        // an AutoML node is dumped from its `AutoMLJob` entity, which keeps the `outputs` mapping it was given,
        // empty or not (the component nodes' `get_rest_dict_for_node_attrs` drops empty ones)
        let automl_outputs = ty == "automl" && d.node.get("outputs").is_some_and(Value::is_object);
        if !outs.is_empty() || automl_outputs {
            node.insert("outputs".into(), Value::Object(outs));
        }
        let is_sweep = ty == "sweep";
        if ty == "spark" {
            // settings of a spark component file show up on the node too
            let mut merged = d.node.clone();
            if let Some((_, cm, _)) = &d.def {
                for k in ["conf", "args", "entry", "py_files", "jars", "files", "archives"] {
                    if !merged.contains_key(k)
                        && let Some(v) = cm.get(k)
                    {
                        merged.insert(k.into(), v.clone());
                    }
                }
            }
            spark_node(&merged, &mut node, d.node.get("component").is_none());
        }
        if ty == "automl" {
            automl_node(&d.node, &mut node);
        } else if is_sweep {
            for k in [
                "limits",
                "sampling_algorithm",
                "objective",
                "search_space",
                "early_termination",
            ] {
                if let Some(v) = d.node.get(k).filter(|v| !v.is_null()) {
                    node.insert(k.into(), v.clone());
                }
            }
        } else if ty == "command"
            && d.node.get("distribution").is_none_or(Value::is_null)
            && let Some(dist) = d
                .def
                .as_ref()
                .and_then(|(_, cm, _)| cm.get("distribution"))
                .filter(|v| v.is_object())
        {
            // `Command.__init__`: `self.distribution = self.distribution or self.component.distribution`
            let mut merged = d.node.clone();
            merged.insert("distribution".into(), dist.clone());
            node_runsettings(&merged, &mut node);
        } else {
            node_runsettings(&d.node, &mut node);
        }
        // `log_verbosity` is kept on every node as loaded; AutoML nodes default it to info
        // (`AutoMLVerticalSchema.log_verbosity`: `load_default=LogVerbosity.INFO`)
        for k in ["display_name", "description", "experiment_name", "log_verbosity"] {
            if let Some(v) = d.node.get(k).filter(|v| !v.is_null()) {
                node.insert(k.into(), v.clone());
            }
        }
        // NLP node schemas (`AutoMLTextClassificationNode`, ...) have no such default: `log_verbosity` stays unset
        let nlp = d
            .node
            .get("task")
            .and_then(Value::as_str)
            .is_some_and(|t| t.starts_with("text_"));
        if ty == "automl" && !nlp {
            node.entry("log_verbosity").or_insert(json!("info"));
        }
        if let Some(t) = d.node.get("tags").filter(|v| !v.is_null()) {
            node.insert("tags".into(), stringify_map(t));
        }
        match d.def {
            Some((src, mut cm, form)) => {
                node.insert("_source".into(), json!(form.source()));
                if let Some(t) = &d.task {
                    cm.insert("task".into(), t.clone());
                    parallel_node(&d.node, Some(t), &mut node);
                } else if ty == "parallel" && d.node.get("component").is_none() {
                    // an inline parallel node without `task` still sends its run settings
                    parallel_node(&d.node, None, &mut node);
                }
                let env = d.env.clone();
                // a component file used by several nodes is loaded (and uploaded) once
                let from_file = src.file != ctx.src.file;
                let cache_key = src.file.clone();
                let cached = if from_file {
                    ctx.cached_component(&cache_key)
                } else {
                    None
                };
                let id = match cached {
                    Some(id) => id,
                    None => {
                        let id = ctx.with_source(src, |c| {
                            let cty = opt_str(&cm, "type").unwrap_or_else(|| "command".into());
                            let (spec, hash) = if cty == "pipeline" {
                                pipeline_component_spec(c, &cm, true)?
                            } else {
                                let cm = match form {
                                    ComponentForm::Component => {
                                        super::component::with_spark_default_code(&cm)
                                    }
                                    _ => std::borrow::Cow::Borrowed(&cm),
                                };
                                let code = code_of(c, &cm)?;
                                component_spec(c, &cm, code, env, true, form)?
                            };
                            Ok(put_anonymous(c, spec, hash))
                        })?;
                        if from_file {
                            ctx.cache_component(cache_key, id.clone());
                        }
                        id
                    }
                };
                if is_sweep {
                    node.insert("trial".into(), json!({ "componentId": id }));
                } else {
                    node.insert("componentId".into(), json!(id));
                }
            }
            None => {
                if let Some(Value::String(s)) = d.node.get("component") {
                    node.insert(
                        "_source".into(),
                        json!(if s.starts_with("azureml://registries") {
                            "REMOTE.REGISTRY"
                        } else {
                            "REMOTE.WORKSPACE.COMPONENT"
                        }),
                    );
                    let id = component_ref(ctx, s, &["jobs", key, "component"])?;
                    node.insert("componentId".into(), json!(id));
                }
            }
        }
        built.push((d.key.clone(), Value::Object(node)));
    }
    // keep the YAML's node order in the body
    for k in jobs.keys() {
        if let Some(pos) = built.iter().position(|(b, _)| b == k) {
            let (k, v) = built.remove(pos);
            out.insert(k, v);
        }
    }
    Ok(out)
}

/// Infers input types of an inline node from its bindings (parent inputs give their type).
fn infer_inputs(
    v: Option<&Value>,
    parent_inputs: Option<&Value>,
    jobs: &Map<String, Value>,
    spark: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    let scalar_type = |v: &Value| -> String {
        match v {
            Value::Bool(_) => "boolean".into(),
            Value::Number(n) if n.is_f64() => "number".into(),
            Value::Number(_) => "integer".into(),
            _ => "string".into(),
        }
    };
    if let Some(Value::Object(m)) = v {
        for (k, v) in m {
            let t = match v {
                Value::String(s) if s.starts_with("${{parent.inputs.") => {
                    let name = s
                        .trim_start_matches("${{parent.inputs.")
                        .trim_end_matches("}}")
                        .trim();
                    match parent_inputs.and_then(|p| p.get(name)) {
                        Some(Value::Object(pm)) => opt_str(pm, "type").unwrap_or_else(|| "uri_folder".into()),
                        Some(other) => scalar_type(other),
                        None => "string".into(),
                    }
                }
                Value::String(s) if s.starts_with("${{parent.jobs.") => {
                    // the type of the referenced node output, when that node declares it
                    let inner = s.trim_start_matches("${{parent.jobs.").trim_end_matches("}}");
                    let parts: Vec<&str> = inner.split('.').collect();
                    match parts.as_slice() {
                        [job, "outputs", out] => jobs
                            .get(*job)
                            .and_then(|j| j.get("outputs"))
                            .and_then(|o| o.get(*out))
                            .and_then(|o| o.get("type"))
                            .and_then(Value::as_str)
                            .unwrap_or("uri_folder")
                            .to_string(),
                        _ => "uri_folder".to_string(),
                    }
                }
                Value::String(s) if s.starts_with("${{") => "uri_folder".to_string(),
                Value::Object(im) => opt_str(im, "type").unwrap_or_else(|| "uri_folder".into()),
                other => scalar_type(other),
            };
            let literal = matches!(t.as_str(), "string" | "integer" | "number" | "boolean");
            let mut o = Map::new();
            o.insert("type".into(), json!(t));
            if !v.is_object() && !v.as_str().is_some_and(|s| s.starts_with("${{")) && !v.is_null() {
                o.insert("default".into(), json!(scalar_to_py_str(v)));
            }
            if let Some(md) = v.as_object().and_then(|im| opt_str(im, "mode")) {
                o.insert("mode".into(), json!(md));
            } else if spark && !literal {
                o.insert("mode".into(), json!("direct"));
            }
            out.insert(k.clone(), Value::Object(o));
        }
    }
    out
}

/// Registers a component mapping as an anonymous component (code and environment first).
pub(crate) fn anonymous_component(ctx: &mut Ctx<'_>, cm: &Map<String, Value>) -> Result<String> {
    let cty = opt_str(cm, "type").unwrap_or_else(|| "command".into());
    let (spec, hash) = if cty == "pipeline" {
        pipeline_component_spec(ctx, cm, true)?
    } else {
        let cm = &*super::component::with_spark_default_code(cm);
        let code = code_of(ctx, cm)?;
        let env = env_of(ctx, cm)?;
        component_spec(ctx, cm, code, env, true, ComponentForm::Component)?
    };
    Ok(put_anonymous(ctx, spec, hash))
}

/// AutoML nodes keep their YAML fields (snake_case), with search spaces as SDK expressions.
fn automl_node(m: &Map<String, Value>, node: &mut Map<String, Value>) {
    node.insert(
        "tags".into(),
        m.get("tags").map(stringify_map).unwrap_or_else(|| json!({})),
    );
    node.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    for (k, v) in m {
        match k.as_str() {
            "type" | "inputs" | "outputs" | "compute" | "tags" | "properties" => {}
            "search_space" => {
                let spaces = match v {
                    Value::Array(a) => a.iter().map(search_space_exprs).collect(),
                    other => vec![search_space_exprs(other)],
                };
                node.insert(k.clone(), Value::Array(spaces));
            }
            "sweep" => {
                let mut sw = v.clone();
                if let Some(et) = sw.get_mut("early_termination").and_then(Value::as_object_mut) {
                    automl_node_early_termination(et);
                }
                node.insert(k.clone(), sw);
            }
            "limits" => {
                let mut l = v.clone();
                // NLP tasks get a default node count
                let nlp = m
                    .get("task")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.starts_with("text_"));
                // `NlpLimitSettings.__init__`: max_trials and max_nodes default to 1
                if nlp && let Some(lm) = l.as_object_mut() {
                    lm.entry("max_trials").or_insert(json!(1));
                    lm.entry("max_nodes").or_insert(json!(1));
                }
                node.insert(k.clone(), l);
            }
            _ => {
                node.insert(k.clone(), v.clone());
            }
        }
    }
    // without `limits` the vertical's defaults are sent (`AutoMLNLPJob`: `limits or NlpLimitSettings()`;
    // `AutoMLImage`: `limits or ImageLimitSettings()`, all fields unset)
    if !m.contains_key("limits") {
        let task = m.get("task").and_then(Value::as_str).unwrap_or_default();
        if task.starts_with("text_") {
            node.insert("limits".into(), json!({"max_trials": 1, "max_nodes": 1}));
        } else if task.starts_with("image_") {
            node.insert("limits".into(), json!({}));
        }
    }
}

pub(crate) fn search_space_exprs(v: &Value) -> Value {
    let Some(m) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, e) in m {
        let expr = match e.as_object() {
            Some(em) => {
                let ty = opt_str(em, "type").unwrap_or_default();
                let args: Vec<String> = match ty.as_str() {
                    "choice" => em
                        .get("values")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(super::py_repr).collect())
                        .unwrap_or_default(),
                    "uniform" | "loguniform" => ["min_value", "max_value"]
                        .iter()
                        .map(|f| em.get(*f).map(super::py_repr).unwrap_or_default())
                        .collect(),
                    _ => Vec::new(),
                };
                json!(format!("{ty}({})", args.join(",")))
            }
            None => e.clone(),
        };
        out.insert(k.clone(), expr);
    }
    Value::Object(out)
}

/// Spark nodes: identity default, and for inline nodes the spark settings.
fn spark_node(m: &Map<String, Value>, node: &mut Map<String, Value>, inline: bool) {
    match m.get("identity").and_then(Value::as_object) {
        Some(i) => {
            let t = match i.get("type").and_then(Value::as_str).unwrap_or_default() {
                "user_identity" => "UserIdentity",
                "managed" | "managed_identity" => "Managed",
                "aml_token" => "AMLToken",
                o => o,
            };
            node.insert("identity".into(), json!({ "identity_type": t }));
        }
        None => {
            node.insert("identity".into(), json!({"identity_type": "UserIdentity"}));
        }
    }
    for k in ["py_files", "jars", "files", "archives", "conf", "args"] {
        if let Some(v) = m.get(k).filter(|v| !v.is_null()) {
            let mut v = v.clone();
            // with dynamic allocation the SDK starts with the minimum number of executors
            if k == "conf"
                && let Some(c) = v.as_object_mut()
                && c.get("spark.dynamicAllocation.enabled") == Some(&json!(true))
                && !c.contains_key("spark.executor.instances")
                && let Some(min) = c.get("spark.dynamicAllocation.minExecutors").cloned()
            {
                c.insert("spark.executor.instances".into(), min);
            }
            node.insert(k.into(), v);
        }
    }
    if inline && let Some(r) = m.get("resources").filter(|v| !v.is_null()) {
        node.insert("resources".into(), r.clone());
    }
    if let Some(Value::Object(e)) = m.get("entry") {
        let mut out = e.clone();
        let t = if e.contains_key("class_name") {
            "SparkJobScalaEntry"
        } else {
            "SparkJobPythonEntry"
        };
        out.insert("spark_job_entry_type".into(), json!(t));
        node.insert("entry".into(), Value::Object(out));
    }
}

/// The component an inline parallel node defines.
fn parallel_def(
    node: &Map<String, Value>,
    parent_inputs: Option<&Value>,
    jobs: &Map<String, Value>,
) -> Map<String, Value> {
    let mut cm = Map::new();
    cm.insert("type".into(), json!("parallel"));
    // `ComponentTranslatableMixin._find_source_input_output_type`, as for inline command nodes: a binding input
    // takes the type of the parent input or node output it binds to
    let inferred = infer_inputs(node.get("inputs"), parent_inputs, jobs, false);
    let mut ins = Map::new();
    if let Some(Value::Object(m)) = node.get("inputs") {
        for (k, v) in m {
            let mut o = Map::new();
            match v {
                Value::Object(im) => {
                    o.insert(
                        "type".into(),
                        json!(opt_str(im, "type").unwrap_or_else(|| "uri_folder".into())),
                    );
                    if let Some(md) = opt_str(im, "mode") {
                        o.insert("mode".into(), json!(md));
                    }
                }
                Value::String(s) if s.starts_with("${{") => {
                    let t = inferred.get(k).and_then(|i| i.get("type")).cloned();
                    o.insert("type".into(), t.unwrap_or_else(|| json!("uri_folder")));
                }
                other => {
                    o.insert("type".into(), json!("string"));
                    o.insert("default".into(), json!(scalar_to_py_str(other)));
                }
            }
            ins.insert(k.clone(), Value::Object(o));
        }
    }
    if !ins.is_empty() {
        cm.insert("inputs".into(), Value::Object(ins));
    }
    let mut outs = Map::new();
    if let Some(Value::Object(m)) = node.get("outputs") {
        for (k, v) in m {
            let mut o = Map::new();
            let om = v.as_object();
            o.insert(
                "type".into(),
                json!(
                    om.and_then(|m| opt_str(m, "type"))
                        .unwrap_or_else(|| "uri_folder".into())
                ),
            );
            if let Some(md) = om.and_then(|m| opt_str(m, "mode")) {
                o.insert("mode".into(), json!(md));
            }
            outs.insert(k.clone(), Value::Object(o));
        }
    }
    if !outs.is_empty() {
        cm.insert("outputs".into(), Value::Object(outs));
    }
    // the SDK always sends a mini-batch size (0 = decided by the service)
    cm.insert("mini_batch_size".into(), json!("0"));
    for k in [
        "resources",
        "logging_level",
        "task",
        "mini_batch_size",
        "input_data",
        "retry_settings",
        "max_concurrency_per_instance",
        "mini_batch_error_threshold",
        "error_threshold",
        "partition_keys",
    ] {
        if let Some(v) = node.get(k).filter(|v| !v.is_null()) {
            let v = match k {
                "mini_batch_size" => json!(
                    mini_batch_bytes(v)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| scalar_to_py_str(v))
                ),
                "partition_keys" => json!(py_json_dumps(v)),
                _ => v.clone(),
            };
            cm.insert(k.into(), v);
        }
    }
    cm
}

/// `10kb` → 10240, `5` → 5 (the SDK's parsing of `mini_batch_size`).
fn mini_batch_bytes(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let t = s.trim().to_ascii_lowercase();
            let (num, mult) = if let Some(n) = t.strip_suffix("kb") {
                (n, 1024)
            } else if let Some(n) = t.strip_suffix("mb") {
                (n, 1024 * 1024)
            } else if let Some(n) = t.strip_suffix("gb") {
                (n, 1024 * 1024 * 1024)
            } else {
                (t.as_str(), 1)
            };
            num.trim().parse::<u64>().ok().map(|n| n * mult)
        }
        _ => None,
    }
}

/// Uploads a parallel task's code and registers its environment (always anonymous).
fn resolve_task(ctx: &mut Ctx<'_>, task: &Map<String, Value>, key: &str) -> Result<Value> {
    let mut out = task.clone();
    if let Some(code) = task.get("code").filter(|v| !v.is_null()) {
        let s = code.as_str().unwrap_or_default();
        let c = if s.starts_with("azureml:") || s.contains("://") {
            s.to_string()
        } else {
            format!("azureml:{}", ctx.code(code, &["jobs", key, "task", "code"])?)
        };
        out.insert("code".into(), json!(c));
    }
    if let Some(env) = task.get("environment").filter(|v| !v.is_null()) {
        let e = spec_env(ctx, env, &["jobs", key, "task", "environment"])?;
        out.insert("environment".into(), json!(e));
    }
    Ok(Value::Object(out))
}

/// Node-level fields of an inline parallel node.
fn parallel_node(m: &Map<String, Value>, task: Option<&Value>, node: &mut Map<String, Value>) {
    if let Some(task) = task {
        node.insert("task".into(), task.clone());
    }
    for k in [
        "resources",
        "logging_level",
        "input_data",
        "retry_settings",
        "max_concurrency_per_instance",
        "mini_batch_error_threshold",
        "error_threshold",
        "partition_keys",
        "environment_variables",
    ] {
        // an empty `resources: {}` is not sent (`get_rest_dict_for_node_attrs(..., clear_empty_value=True)`)
        let empty_resources =
            k == "resources" && m.get(k).and_then(Value::as_object).is_some_and(Map::is_empty);
        if let Some(v) = m.get(k).filter(|v| !v.is_null() && !empty_resources) {
            let v = if k == "partition_keys" {
                json!(py_json_dumps(v))
            } else {
                v.clone()
            };
            node.insert(k.into(), v);
        }
    }
    let mbs = match m.get("mini_batch_size").filter(|v| !v.is_null()) {
        Some(v) => mini_batch_bytes(v).map(|n| json!(n)).unwrap_or_else(|| v.clone()),
        None => json!(0),
    };
    node.insert("mini_batch_size".into(), mbs);
}

/// An AutoML node's `sweep.early_termination` as the node sends it: the policy entity
/// (`BanditPolicy`/`MedianStoppingPolicy`/`TruncationSelectionPolicy.__init__`: `delay_evaluation` 0,
/// `evaluation_interval` 0 (1 for median stopping), Bandit `slack_amount`/`slack_factor` 0) dumped by
/// `BanditPolicySchema` & co. (`fields.Int`, slacks as `fields.Float`).
fn automl_node_early_termination(et: &mut Map<String, Value>) {
    let interval = match et.get("type").and_then(Value::as_str) {
        Some("bandit" | "truncation_selection") => 0,
        Some("median_stopping") => 1,
        _ => return,
    };
    et.entry("delay_evaluation").or_insert(json!(0));
    et.entry("evaluation_interval").or_insert(json!(interval));
    if et.get("type").and_then(Value::as_str) == Some("bandit") {
        et.entry("slack_amount").or_insert(json!(0.0));
        et.entry("slack_factor").or_insert(json!(0.0));
    }
}
