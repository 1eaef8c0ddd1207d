//! Validations the SDK runs on pipeline nodes (`jobs:` of pipeline jobs and pipeline components) before it sends
//! anything: the node schemas of `PipelineJobsField` (`_schema/pipeline/pipeline_component.py`), required
//! component inputs (`BaseNode._validate_inputs`), input paths (`JobOperations._resolve_job_input`) and the
//! data bindings of inline nodes (`ComponentTranslatableMixin._find_source_input_output_type`).

use serde_json::{Map, Value};

use super::Ctx;
use super::job::{COMMAND_FIELDS, COMMON_JOB_FIELDS, check_distribution};
use super::spark::{SPARK_FIELDS, SparkOwner, check_conf, check_resources, validate_spark};
use super::sweep::check_sweep;
use crate::error::Result;

/// Fields of an inline parallel node (`PipelineParallelJobSchema` loaded into `ParallelJob(**data)`, which
/// takes no other keyword).
const PARALLEL_FIELDS: &[&str] = &[
    "task",
    "mini_batch_size",
    "partition_keys",
    "input_data",
    "resources",
    "retry_settings",
    "max_concurrency_per_instance",
    "error_threshold",
    "mini_batch_error_threshold",
    "logging_level",
    "environment_variables",
    "environment",
    "comment",
];

/// A node as the validations see it.
pub(crate) struct NodeView<'a> {
    pub key: &'a str,
    pub node: &'a Map<String, Value>,
    /// The component definition loaded from a file or given inline under `component:`/`trial:` (None for
    /// registered components and for inline nodes, whose component the SDK builds from the node itself).
    pub def: Option<&'a Map<String, Value>>,
}

impl NodeView<'_> {
    fn ty(&self) -> &str {
        self.node.get("type").and_then(Value::as_str).unwrap_or("command")
    }

    fn comp_key(&self) -> &'static str {
        if self.ty() == "sweep" {
            "trial"
        } else {
            "component"
        }
    }

    /// No `component:` (or `trial:`): the node defines its own component (`PipelineCommandJobSchema` etc.).
    fn inline(&self) -> bool {
        self.node.get(self.comp_key()).is_none_or(Value::is_null)
    }

    /// The ports of `group` (`inputs`/`outputs`) other nodes can bind to: the component's when its definition is
    /// known (`BaseNode._build_outputs_dict` keeps only declared ones), else the node's own.
    fn ports(&self, group: &str) -> Vec<String> {
        let from = match self.def {
            Some(d) if !self.inline() => d.get(group),
            _ => self.node.get(group),
        };
        from.and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// Validates every node of a pipeline (`parent_inputs`: the pipeline's `inputs`).
pub(crate) fn validate_nodes(
    ctx: &Ctx<'_>,
    nodes: &[NodeView<'_>],
    parent_inputs: Option<&Value>,
) -> Result<()> {
    for n in nodes {
        node_schema(ctx, n)?;
        required_inputs(ctx, n)?;
        input_paths(ctx, n)?;
        if n.inline() && matches!(n.ty(), "command" | "spark") {
            inline_bindings(ctx, n, nodes, parent_inputs)?;
        }
    }
    Ok(())
}

/// `PipelineJobsField`: per node type, the node schema (`CommandSchema`, `SparkSchema`, `ParallelSchema`,
/// `PipelineSchema`: `component` required, unknown fields kept) or, for a node without `component`, the inline job
/// schema (`PipelineCommandJobSchema`, `PipelineSparkJobSchema`, `PipelineParallelJobSchema`: unknown fields
/// refused, their own required fields).
fn node_schema(ctx: &Ctx<'_>, n: &NodeView<'_>) -> Result<()> {
    let at = ["jobs", n.key];
    let field = |k: &'static str| [&at[..], &[k]].concat();
    let ty = n.ty();
    if ty == "pipeline" && n.inline() {
        return Err(ctx.err(
            &field("component"),
            "Missing data for required field. A pipeline node runs a pipeline component: give `component: \
             <file.yml>` or `component: azureml:<name>:<version>`",
        ));
    }
    check_distribution(ctx, n.node, &at)?;
    if ty == "sweep" {
        check_sweep(ctx, n.node, &at, false)?;
    }
    if ty == "spark" {
        // `SparkSchema.resources = NestedField(SparkResourceConfigurationForNodeSchema)`
        check_resources(ctx, n.node, &at)?;
    }
    if ty == "parallel" {
        // `ParameterizedParallelSchema.mini_batch_size = fields.Str()`
        if let Some(v) = n.node.get("mini_batch_size")
            && !v.is_null()
            && !v.is_string()
        {
            return Err(ctx.err(
                &field("mini_batch_size"),
                "Not a valid string. Quote it (`mini_batch_size: \"10\"`, or a size like \"10kb\")",
            ));
        }
    }
    if !n.inline() {
        // `Spark._validate_fields` on a node of a component file: its conf falls back to the component's
        if ty == "spark"
            && let Some(def) = n.def
        {
            let mut conf = def
                .get("conf")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            if let Some(Value::Object(c)) = n.node.get("conf") {
                for (k, v) in c {
                    if !v.is_null() {
                        conf.insert(k.clone(), v.clone());
                    }
                }
            }
            check_conf(ctx, Some(&Value::Object(conf)), &at)?;
        }
        return Ok(());
    }
    let own: &[&str] = match ty {
        "command" => COMMAND_FIELDS,
        "spark" => SPARK_FIELDS,
        "parallel" => PARALLEL_FIELDS,
        _ => return Ok(()),
    };
    let mut allowed = COMMON_JOB_FIELDS.to_vec();
    allowed.extend(own);
    for k in n.node.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(ctx.err(
                &[&at[..], &[k.as_str()]].concat(),
                format!(
                    "Unknown field. A {ty} node without `component` is an inline {ty} job, which has no `{k}`: \
                     remove it, or move the definition to a component file and reference it with `component:`"
                ),
            ));
        }
    }
    match ty {
        "spark" => validate_spark(ctx, n.node, &at, SparkOwner::InlineNode),
        "parallel" => {
            // `ComponentParallelTaskSchema.type` is required
            match n.node.get("task") {
                Some(Value::Object(t)) if t.get("type").is_some_and(|v| !v.is_null()) => Ok(()),
                Some(Value::Object(_)) => Err(ctx.err(
                    &[&at[..], &["task", "type"]].concat(),
                    "Missing data for required field. Give the task type: `type: run_function`",
                )),
                // the SDK sends a parallel node without `task` as it is
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// `BaseNode._validate_inputs`: an input the component requires (not `optional: true`, no `default`) must be
/// given on the node (not null).
fn required_inputs(ctx: &Ctx<'_>, n: &NodeView<'_>) -> Result<()> {
    let Some(def) = n.def.filter(|_| !n.inline()) else {
        return Ok(());
    };
    let Some(Value::Object(declared)) = def.get("inputs") else {
        return Ok(());
    };
    let given = n.node.get("inputs").and_then(Value::as_object);
    for (k, meta) in declared {
        let optional = meta.get("optional") == Some(&Value::Bool(true));
        let has_default = meta.get("default").is_some_and(|v| !v.is_null());
        let set = given.is_some_and(|g| g.get(k).is_some_and(|v| !v.is_null()));
        if !set && !optional && !has_default {
            return Err(ctx.err(
                &["jobs", n.key, "inputs", k.as_str()],
                format!(
                    "Required input '{k}' for component '{}' not provided: bind it (e.g. `{k}: \
                     ${{{{parent.inputs.{k}}}}}`) or give a value",
                    n.key
                ),
            ));
        }
    }
    Ok(())
}

/// `JobOperations._resolve_job_input` (run on every node's inputs, `_resolve_inputs_for_pipeline_component_jobs`):
/// an input given as a mapping is a data input and needs its `path` ("Input path can't be empty for jobs.").
fn input_paths(ctx: &Ctx<'_>, n: &NodeView<'_>) -> Result<()> {
    if n.ty() == "automl" {
        return Ok(());
    }
    let Some(Value::Object(inputs)) = n.node.get("inputs") else {
        return Ok(());
    };
    for (k, v) in inputs {
        if let Value::Object(im) = v
            && im.get("path").is_none_or(Value::is_null)
        {
            return Err(ctx.err(
                &["jobs", n.key, "inputs", k.as_str(), "path"],
                "Input path can't be empty for jobs: give the data's `path` (a local path, an azureml:// URI, \
                 `azureml:<name>:<version>` or a `${{parent...}}` binding), or give a literal value instead of a \
                 mapping",
            ));
        }
    }
    Ok(())
}

/// `ComponentTranslatableMixin._find_source_input_output_type`: the SDK builds the component of an inline command
/// or Spark node from its inputs; a `${{parent.inputs.x}}` binding must name a pipeline input
/// (`_find_source_from_parent_inputs`) and `${{parent.jobs.n.outputs.o}}` an existing node and one of its ports
/// (`_find_source_from_other_jobs`; AutoML nodes: any output).
fn inline_bindings(
    ctx: &Ctx<'_>,
    n: &NodeView<'_>,
    nodes: &[NodeView<'_>],
    parent_inputs: Option<&Value>,
) -> Result<()> {
    let Some(Value::Object(inputs)) = n.node.get("inputs") else {
        return Ok(());
    };
    for (k, v) in inputs {
        let Some(s) = v.as_str() else { continue };
        let field = ["jobs", n.key, "inputs", k.as_str()];
        // `INPUT_PATTERN`: `^\$\{\{parent\.(inputs|jobs)\.(.*?)\}\}$`
        let Some(inner) = s.strip_prefix("${{parent.").and_then(|r| r.strip_suffix("}}")) else {
            continue;
        };
        if let Some(rest) = inner.strip_prefix("inputs.") {
            // `input.split(".")[2][:-2]`
            let name = rest.split('.').next().unwrap_or_default();
            let known = parent_inputs
                .and_then(Value::as_object)
                .is_some_and(|p| p.contains_key(name));
            if !known {
                return Err(ctx.err(
                    &field,
                    format!(
                        "Failed to find top level definition for input binding {s}: declare `{name}` under the \
                         pipeline's `inputs`"
                    ),
                ));
            }
        } else if let Some(rest) = inner.strip_prefix("jobs.") {
            // `re.match(r"\${{parent.jobs.([^.]+).([^.]+).([^.]+)}}", input)`
            let parts: Vec<&str> = rest.splitn(3, '.').collect();
            let [job, io, port] = parts[..] else {
                return Err(ctx.err(
                    &field,
                    format!("Failed to find top level definition for job binding {s}"),
                ));
            };
            let source = nodes.iter().find(|o| o.key == job);
            let found = match source {
                None => false,
                Some(o) if o.ty() == "automl" => io == "outputs",
                Some(o) => {
                    let port = port.split('.').next().unwrap_or_default();
                    matches!(io, "inputs" | "outputs") && o.ports(io).iter().any(|p| p == port)
                }
            };
            if !found {
                return Err(ctx.err(
                    &field,
                    format!(
                        "Failed to find referenced source for input binding {s}: the pipeline has no node `{job}` \
                         with {io} `{port}` (declare it on that node or its component)"
                    ),
                ));
            }
        }
    }
    Ok(())
}
