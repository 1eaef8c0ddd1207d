//! Spark jobs (`type: spark`) and the validations the SDK runs on Spark jobs, Spark pipeline nodes and Spark
//! components before sending them (`azure.ai.ml.entities._job.spark_helpers`, `SparkJob._validate`,
//! `Spark._validate_fields`).

use serde_json::{Map, Value, json};

use super::job::{COMMON_JOB_FIELDS, job_inputs, job_outputs};
use super::{Ctx, camel, camel_keys, opt_str};
use crate::error::Result;
use crate::yaml::scalar_to_py_str;

/// `SparkJobSchema` (`ParameterizedSparkSchema` + `BaseJobSchema`): fields of a standalone Spark job and of an
/// inline Spark pipeline node (`PipelineSparkJobSchema`, which raises on unknown fields).
pub(crate) const SPARK_FIELDS: &[&str] = &[
    "code",
    "entry",
    "py_files",
    "jars",
    "files",
    "archives",
    "conf",
    "environment",
    "args",
    "resources",
];

pub(crate) fn spark_job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut allowed = COMMON_JOB_FIELDS.to_vec();
    allowed.extend(SPARK_FIELDS);
    ctx.check_fields(m, &[], &allowed)?;
    validate_spark(ctx, m, &[], SparkOwner::Job)?;
    let mut p = Map::new();
    if let Some(c) = m.get("code").filter(|v| !v.is_null()) {
        let id = ctx.code(c, &["code"])?;
        p.insert("codeId".into(), json!(id));
    }
    if let Some(Value::Object(e)) = m.get("entry") {
        let mut out = Map::new();
        for (k, v) in e {
            out.insert(camel(k), v.clone());
        }
        if e.contains_key("file") {
            out.insert("sparkJobEntryType".into(), json!("SparkJobPythonEntry"));
        } else if e.contains_key("class_name") {
            out.insert("sparkJobEntryType".into(), json!("SparkJobScalaEntry"));
        }
        p.insert("entry".into(), Value::Object(out));
    }
    for (k, rk) in [
        ("py_files", "pyFiles"),
        ("jars", "jars"),
        ("files", "files"),
        ("archives", "archives"),
    ] {
        if let Some(v) = m.get(k).filter(|v| !v.is_null()) {
            p.insert(rk.into(), v.clone());
        }
    }
    if let Some(a) = opt_str(m, "args") {
        p.insert("args".into(), json!(a));
    }
    let mut conf = Map::new();
    if let Some(Value::Object(c)) = m.get("conf") {
        for (k, v) in c {
            let key = if k.starts_with("spark.") {
                k.clone()
            } else {
                format!("spark.{}", spark_conf_key(k))
            };
            conf.insert(key, json!(scalar_to_py_str(v)));
        }
    }
    p.insert("conf".into(), Value::Object(conf));
    if let Some(r) = m.get("resources").filter(|v| !v.is_null()) {
        p.insert("resources".into(), camel_keys(r));
    }
    if let Some(e) = m.get("environment").filter(|v| !v.is_null()) {
        super::component::env_prefix(ctx, e, &["environment"])?;
        let id = ctx.environment(e, &["environment"])?;
        p.insert("environmentId".into(), json!(id));
    }
    p.insert("inputs".into(), job_inputs(ctx, m.get("inputs"), "")?);
    p.insert("outputs".into(), job_outputs(ctx, m.get("outputs"))?);
    p.insert("jobType".into(), json!("Spark"));
    if !m.contains_key("identity") {
        let t = if m.get("compute").is_some_and(|c| !c.is_null()) {
            "Managed"
        } else {
            "UserIdentity"
        };
        p.insert("identity".into(), json!({"identityType": t}));
    }
    Ok(p)
}

pub(crate) fn spark_conf_key(k: &str) -> String {
    match k {
        "driver_cores" => "driver.cores".into(),
        "driver_memory" => "driver.memory".into(),
        "executor_cores" => "executor.cores".into(),
        "executor_memory" => "executor.memory".into(),
        "executor_instances" => "executor.instances".into(),
        "dynamic_allocation_enabled" => "dynamicAllocation.enabled".into(),
        "dynamic_allocation_min_executors" => "dynamicAllocation.minExecutors".into(),
        "dynamic_allocation_max_executors" => "dynamicAllocation.maxExecutors".into(),
        other => other.to_string(),
    }
}

/// What a Spark definition belongs to: the checks differ slightly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SparkOwner {
    /// A standalone Spark job (`SparkJob._validate`, and the node it becomes for `_validate`).
    Job,
    /// An inline Spark pipeline node (no `component:`): its own definition is its component.
    InlineNode,
}

/// `SparkJobSchema.entry` (required `UnionField` of `SparkEntryFileSchema` / `SparkEntryClassSchema`) and, for jobs
/// and nodes (`class_ok` false), `SparkJobEntryMixin._validate_entry` (class entries are refused).
pub(crate) fn check_entry(ctx: &Ctx<'_>, m: &Map<String, Value>, at: &[&str], class_ok: bool) -> Result<()> {
    let field = |k: &'static str| [at, &[k]].concat();
    match m.get("entry") {
        None | Some(Value::Null) => Err(ctx.err(
            &field("entry"),
            "Missing data for required field. Give the Spark entry file: `entry: {file: <script.py>}`",
        )),
        Some(Value::Object(e)) if e.get("file").is_some_and(Value::is_string) => Ok(()),
        Some(Value::Object(e)) if e.get("class_name").is_some_and(Value::is_string) && class_ok => Ok(()),
        Some(Value::Object(e)) if e.get("class_name").is_some_and(Value::is_string) => Err(ctx.err(
            &field("entry"),
            "Classpath is not supported, please use 'file' to define the entry file.",
        )),
        Some(_) => Err(ctx.err(
            &[at, &["entry", "file"]].concat(),
            "Missing data for required field. Give the Spark entry file: `entry: {file: <script.py>}`",
        )),
    }
}

/// `_validate_spark_configurations`: with dynamic allocation the driver/executor cores and memory and the
/// min/max executors are required (min > 0, min <= max, instances between them); without it the driver/executor
/// cores and memory and `spark.executor.instances` are required and min/max executors refused. `conf` keys count
/// in both their `spark.x.y` and `x_y` forms (`ParameterizedSparkSchema` `CONF_KEY_MAP`); a null value is missing.
pub(crate) fn check_conf(ctx: &Ctx<'_>, conf: Option<&Value>, at: &[&str]) -> Result<()> {
    let get = |short: &str| -> Option<&Value> {
        let c = conf.and_then(Value::as_object)?;
        c.get(&format!("spark.{}", spark_conf_key(short)))
            .or_else(|| c.get(short))
            .filter(|v| !v.is_null())
    };
    let num = |v: Option<&Value>| -> Option<f64> {
        match v? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let field = [at, &["conf"]].concat();
    let dynamic = matches!(get("dynamic_allocation_enabled"), Some(Value::Bool(true)))
        || matches!(get("dynamic_allocation_enabled"), Some(Value::String(s)) if s == "True" || s == "true");
    let base = [
        "driver_cores",
        "driver_memory",
        "executor_cores",
        "executor_memory",
    ];
    if dynamic {
        if base.iter().any(|k| get(k).is_none()) {
            return Err(ctx.err(
                &field,
                "spark.driver.cores, spark.driver.memory, spark.executor.cores and spark.executor.memory are \
                 mandatory fields.",
            ));
        }
        let (min, max) = (
            get("dynamic_allocation_min_executors"),
            get("dynamic_allocation_max_executors"),
        );
        if min.is_none() || max.is_none() {
            return Err(ctx.err(
                &field,
                "spark.dynamicAllocation.minExecutors and spark.dynamicAllocation.maxExecutors are required when \
                 dynamic allocation is enabled.",
            ));
        }
        if let (Some(lo), Some(hi)) = (num(min), num(max)) {
            if !(lo > 0.0 && lo <= hi) {
                return Err(ctx.err(
                    &field,
                    "Dynamic min executors should be bigger than 0 and min executors should be equal or less than \
                     max executors.",
                ));
            }
            if let Some(n) = num(get("executor_instances")).filter(|n| *n != 0.0)
                && (n > hi || n < lo)
            {
                return Err(ctx.err(
                    &field,
                    "Executor instances must be a valid non-negative integer and must be between \
                     spark.dynamicAllocation.minExecutors and spark.dynamicAllocation.maxExecutors",
                ));
            }
        }
    } else {
        if base
            .iter()
            .chain(&["executor_instances"])
            .any(|k| get(k).is_none())
        {
            return Err(ctx.err(
                &field,
                "spark.driver.cores, spark.driver.memory, spark.executor.cores, spark.executor.memory and \
                 spark.executor.instances are mandatory fields.",
            ));
        }
        if get("dynamic_allocation_min_executors").is_some()
            || get("dynamic_allocation_max_executors").is_some()
        {
            return Err(ctx.err(
                &field,
                "Should not specify min or max executors when dynamic allocation is disabled.",
            ));
        }
    }
    Ok(())
}

/// `SparkResourceConfigurationForNodeSchema`: `instance_type` (one of the Spark pool sizes, any case) and
/// `runtime_version` are required once `resources` is given.
pub(crate) fn check_resources(ctx: &Ctx<'_>, m: &Map<String, Value>, at: &[&str]) -> Result<()> {
    const TYPES: &[&str] = &[
        "standard_e4s_v3",
        "standard_e8s_v3",
        "standard_e16s_v3",
        "standard_e32s_v3",
        "standard_e64s_v3",
    ];
    let Some(Value::Object(r)) = m.get("resources") else {
        return Ok(());
    };
    let field = |k: &'static str| [at, &["resources", k]].concat();
    match r.get("instance_type") {
        None | Some(Value::Null) => {
            return Err(ctx.err(
                &field("instance_type"),
                "Missing data for required field. Give the Spark pool size, e.g. `instance_type: standard_e4s_v3`",
            ));
        }
        Some(Value::String(t)) if !t.starts_with("${{") && !TYPES.contains(&t.to_lowercase().as_str()) => {
            return Err(ctx.err(
                &field("instance_type"),
                format!("Value '{t}' passed is not in set {TYPES:?}"),
            ));
        }
        _ => {}
    }
    if r.get("runtime_version").is_none_or(Value::is_null) {
        return Err(ctx.err(
            &field("runtime_version"),
            "Missing data for required field. Give the Spark runtime, e.g. `runtime_version: \"3.4\"`",
        ));
    }
    Ok(())
}

/// `_validate_compute_or_resources`: a Spark job runs either on an attached pool (`compute`) or serverless
/// (`resources`), exactly one of them.
pub(crate) fn check_compute_or_resources(ctx: &Ctx<'_>, m: &Map<String, Value>, at: &[&str]) -> Result<()> {
    let given = |k: &str| m.get(k).is_some_and(|v| !v.is_null());
    match (given("compute"), given("resources")) {
        (false, false) => Err(ctx.err(
            &[at, &["resources"]].concat(),
            "One of either compute or resources must be specified for Spark job: give `compute` (an attached \
             Spark pool) or `resources` (serverless)",
        )),
        (true, true) => Err(ctx.err(
            &[at, &["resources"]].concat(),
            "Only one of either compute or resources may be specified for Spark job: remove `compute` or \
             `resources`",
        )),
        _ => Ok(()),
    }
}

/// `_validate_input_output_mode`: only `direct` mode for Spark inputs and outputs. A standalone job's data
/// inputs/outputs (mappings) need `mode: direct`; a node's are checked unless bound to the parent pipeline
/// (`INPUT_PATTERN` / `OUTPUT_PATTERN`), and only when the component's port is not direct either (`meta`).
pub(crate) fn check_modes(
    ctx: &Ctx<'_>,
    m: &Map<String, Value>,
    at: &[&str],
    meta: Option<&Map<String, Value>>,
    groups: &[&str],
) -> Result<()> {
    for (group, what) in [("inputs", "Input"), ("outputs", "Output")] {
        if !groups.contains(&group) {
            continue;
        }
        let Some(Value::Object(ports)) = m.get(group) else {
            continue;
        };
        for (name, port) in ports {
            let Value::Object(pm) = port else { continue };
            if group == "outputs" && name == "default" {
                continue;
            }
            let mode = opt_str(pm, "mode");
            if mode.as_deref() == Some("direct") {
                continue;
            }
            if let Some(meta) = meta {
                let bound = opt_str(pm, "path").is_some_and(|p| {
                    let p = p.trim();
                    p.starts_with("${{parent.") && p.ends_with("}}")
                });
                let meta_mode = meta
                    .get(group)
                    .and_then(|g| g.get(name))
                    .and_then(|p| p.get("mode"))
                    .and_then(Value::as_str);
                if bound || meta_mode == Some("direct") {
                    continue;
                }
            }
            let shown = mode.unwrap_or_else(|| "None".into());
            return Err(ctx.err(
                &[at, &[group, name.as_str()]].concat(),
                format!("{what} '{name}' is using '{shown}' mode, only 'direct' is supported for Spark job: set `mode: direct`"),
            ));
        }
    }
    Ok(())
}

/// The checks a standalone Spark job or an inline Spark node gets (`SparkJob._validate`, `Spark._validate_fields`).
pub(crate) fn validate_spark(
    ctx: &Ctx<'_>,
    m: &Map<String, Value>,
    at: &[&str],
    owner: SparkOwner,
) -> Result<()> {
    check_entry(ctx, m, at, false)?;
    check_resources(ctx, m, at)?;
    if owner == SparkOwner::Job {
        check_compute_or_resources(ctx, m, at)?;
        check_modes(ctx, m, at, None, &["inputs", "outputs"])?;
    } else {
        // an inline node's inputs get their mode from the component the SDK builds from it; its outputs keep the
        // node's mode
        check_modes(ctx, m, at, Some(m), &["outputs"])?;
    }
    check_conf(ctx, m.get("conf"), at)
}
