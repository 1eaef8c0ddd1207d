//! How the loader tells a pipeline node's type and compute needs, as `PipelineJobsField` and
//! `PipelineComponent._validate_compute_is_set` do.

use std::path::Path;

use serde_json::Value;

/// The `type` of the component file a node without `type` names (`component: ./c.yml`): the schemas of
/// `PipelineJobsField` load the file, so the node gets the type its component has.
pub(super) fn component_file_type(file: &Path, node: &Value) -> Option<String> {
    if node.get("type").is_some_and(|t| !t.is_null()) {
        return None;
    }
    let path = node.get("component")?.as_str()?;
    if path.starts_with("azureml:") || path.starts_with('/') || path.contains("://") {
        return None;
    }
    let path = path.strip_prefix("file:").unwrap_or(path);
    let full = file.parent().unwrap_or(Path::new("")).join(path);
    let text = std::fs::read_to_string(&full).ok()?;
    let doc = crate::yaml::parse_yaml(&text, &full).ok()?;
    doc.get("type")?.as_str().map(str::to_lowercase)
}

/// `PipelineComponent._validate_compute_is_set`: a command, sweep, parallel or Spark node without `compute`
/// (a Spark node with `resources` runs serverless: `_skip_required_compute_missing_validation`).
pub(super) fn needs_compute(node: &Value) -> bool {
    let ty = node.get("type").and_then(Value::as_str).unwrap_or("command");
    let given = |k: &str| node.get(k).is_some_and(|v| !v.is_null());
    let serverless_spark = ty == "spark" && given("resources");
    matches!(ty, "command" | "sweep" | "parallel" | "spark") && !serverless_spark && !given("compute")
}

/// A node mapping with neither `component` nor `command`, with a parallel `task`, or without one and only fields
/// a `ParallelJob` takes: the `PipelineParallelJobSchema` of `PipelineJobsField` has no required field, and its
/// `post_load` (`ParallelJob(**data)`) fails on others (`ParameterizedParallel.__init__() got an unexpected
/// keyword argument 'environment'`), so the SDK refuses such a node.
pub(super) fn inline_parallel(v: &Value) -> bool {
    const PARALLEL_JOB_ARGS: &[&str] = &[
        "retry_settings",
        "logging_level",
        "max_concurrency_per_instance",
        "error_threshold",
        "mini_batch_error_threshold",
        "input_data",
        "mini_batch_size",
        "partition_keys",
        "resources",
        "environment_variables",
    ];
    let no_component =
        v.get("component").is_none_or(Value::is_null) && v.get("command").is_none_or(Value::is_null);
    let parallel_only = || {
        v.as_object().is_some_and(|m| {
            m.keys().all(|k| {
                crate::convert::job::COMMON_JOB_FIELDS.contains(&k.as_str())
                    || PARALLEL_JOB_ARGS.contains(&k.as_str())
            })
        })
    };
    no_component
        && (v.get("task").is_some_and(Value::is_object) || (v.get("task").is_none() && parallel_only()))
}

/// The first node without a compute (`needs_compute`) of the local pipeline component file a pipeline job names
/// (`component: ./c.yml`): `PipelineJob._validate_compute_is_set` hands a job without `compute` or
/// `settings.default_compute` to `PipelineComponent._validate_compute_is_set`.
pub(super) fn component_node_without_compute(file: &Path, job: &Value) -> Option<String> {
    let path = job.get("component")?.as_str()?;
    if path.starts_with("azureml:") || path.starts_with('/') || path.contains("://") {
        return None;
    }
    let full = file
        .parent()
        .unwrap_or(Path::new(""))
        .join(path.strip_prefix("file:").unwrap_or(path));
    let text = std::fs::read_to_string(&full).ok()?;
    let doc = crate::yaml::parse_yaml(&text, &full).ok()?;
    let jobs = doc.get("jobs")?.as_object()?;
    jobs.iter()
        .find(|(_, n)| needs_compute(n))
        .map(|(k, _)| k.clone())
}
