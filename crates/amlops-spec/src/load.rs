//! What the SDK's marshmallow schemas do to a YAML document when they load it, before any conversion:
//! integer fields cast (`marshmallow.fields.Int`, non-strict: `"3"`, `3.0` and `3.7` load as `3`, booleans and
//! other strings are rejected), enum fields case-folded (`azure.ai.ml._schema.core.fields.StringTransformedEnum`:
//! matched with its `casing_transform`, default `str.lower`, AutoML ones `camel_to_snake`, and the transformed
//! value kept) and case-sensitive enums checked (`DumpableEnumField`, component port types).
//!
//! The rules are tables per kind, one line per schema field, naming the schema they come from; the converters
//! then only see values in the form the SDK's entities hold. Data bindings (`${{...}}`) are left alone, as the
//! SDK's `UnionField([fields.Int(), DataBindingStr])` does.

use std::path::Path;

use serde_json::{Value, json};

use crate::error::{Result, SpecError};
use crate::plan::Kind;
use crate::yaml::locate;

mod automl;
mod deployment;
mod nodes;
mod numbers;
mod rules;

use rules::{
    BATCH_DEPLOYMENT_RULES, BATCH_ENDPOINT_RULES, COMPONENT_RULES, DATA_RULES, JOB_RULES, MODEL_RULES,
    NODE_RULES, ONLINE_DEPLOYMENT_RULES, ONLINE_ENDPOINT_RULES,
};

/// How a schema field loads its value.
#[derive(Clone, Copy)]
enum Field {
    /// `fields.Int()`.
    Int,
    /// `StringTransformedEnum` with the default casing transform (`lower`).
    Lower,
    /// `StringTransformedEnum(casing_transform=camel_to_snake)` (AutoML enums).
    Snake,
    /// `fields.Bool()`: marshmallow's truthy/falsy sets (`"true"`, `"yes"`, `1`, ...).
    Bool,
    /// `fields.Str()`: a string (or null); numbers and booleans are "Not a valid string.".
    Str,
    /// A case-sensitive set (`DumpableEnumField` / `StringTransformedEnum(casing_transform=lambda x: x)`).
    Exact(&'static [&'static str]),
    /// `fields.Float()`: ints and numeric strings become floats; booleans are "Not a valid number.".
    Float,
    /// `UnionField([DumpableIntegerField(strict=True), fields.Float()])`: ints stay ints, numeric strings
    /// become floats.
    Number,
    /// `VersionField` / `NumberVersionField`: numbers become their Python `str()`.
    Version,
    /// A Spark `conf` value (`ParameterizedSparkSchema`: `fields.Raw()`); `serialize_field_names` sends a
    /// string of digits as an int, anything else as written (`2.0` stays a float).
    SparkConf,
}

/// One rule: a path from the owner mapping (`*` any key, `#` any list index) and the field's loader.
type Rule = (&'static [&'static str], Field);

struct Loader<'a> {
    file: &'a Path,
    text: &'a str,
}

impl Loader<'_> {
    fn err(&self, path: &[String], message: String) -> SpecError {
        let field: Vec<&str> = path.iter().map(String::as_str).collect();
        SpecError::Schema {
            file: self.file.to_path_buf(),
            location: locate(self.text, &field),
            field: field.join("."),
            message,
        }
    }

    fn apply(&self, v: &mut Value, rules: &[Rule], at: &mut Vec<String>) -> Result<()> {
        for (path, field) in rules {
            self.apply_rule(v, path, *field, at)?;
        }
        Ok(())
    }

    fn apply_rule(&self, v: &mut Value, path: &[&str], field: Field, at: &mut Vec<String>) -> Result<()> {
        let Some((head, rest)) = path.split_first() else {
            return self.load_value(v, field, at);
        };
        match (v, *head) {
            (Value::Object(m), "*") => {
                for (k, child) in m.iter_mut() {
                    at.push(k.clone());
                    let r = self.apply_rule(child, rest, field, at);
                    at.pop();
                    r?;
                }
            }
            (Value::Array(a), "#") => {
                for (i, child) in a.iter_mut().enumerate() {
                    at.push(i.to_string());
                    let r = self.apply_rule(child, rest, field, at);
                    at.pop();
                    r?;
                }
            }
            (Value::Object(m), key) => {
                if let Some(child) = m.get_mut(key) {
                    at.push(key.to_string());
                    let r = self.apply_rule(child, rest, field, at);
                    at.pop();
                    r?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn load_value(&self, v: &mut Value, field: Field, at: &[String]) -> Result<()> {
        if let Value::String(s) = v
            && s.trim_start().starts_with("${{")
        {
            return Ok(());
        }
        match field {
            Field::Int => {
                let n = match &*v {
                    Value::Null => return Ok(()),
                    Value::Number(n) if n.is_i64() || n.is_u64() => return Ok(()),
                    // Python int(3.7) == 3
                    Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64),
                    Value::String(s) => s.trim().replace('_', "").parse::<i64>().ok(),
                    _ => None,
                };
                match n {
                    Some(n) => *v = json!(n),
                    None => return Err(self.err(at, "Not a valid integer.".into())),
                }
            }
            Field::Lower | Field::Snake => {
                if let Value::String(s) = v {
                    *v = Value::String(match field {
                        Field::Snake => camel_to_snake(s),
                        _ => s.to_lowercase(),
                    });
                }
            }
            Field::Bool => {
                let b = match &*v {
                    Value::Bool(_) | Value::Null => return Ok(()),
                    Value::Number(n) => match n.as_f64() {
                        Some(1.0) => Some(true),
                        Some(0.0) => Some(false),
                        _ => None,
                    },
                    Value::String(s) => match s.as_str() {
                        "t" | "T" | "true" | "True" | "TRUE" | "on" | "On" | "ON" | "y" | "Y" | "yes"
                        | "Yes" | "YES" | "1" => Some(true),
                        "f" | "F" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" | "n" | "N"
                        | "no" | "No" | "NO" | "0" => Some(false),
                        _ => None,
                    },
                    _ => None,
                };
                match b {
                    Some(b) => *v = Value::Bool(b),
                    None => return Err(self.err(at, "Not a valid boolean.".into())),
                }
            }
            Field::Str => {
                if !matches!(v, Value::String(_) | Value::Null) {
                    return Err(self.err(at, "Not a valid string.".into()));
                }
            }
            Field::Float | Field::Number | Field::Version | Field::SparkConf => {
                if !numbers::cast(field, v) {
                    return Err(self.err(at, "Not a valid number.".into()));
                }
            }
            Field::Exact(allowed) => {
                if let Value::String(s) = &*v
                    && !allowed.contains(&s.as_str())
                {
                    return Err(self.err(at, format!("Value '{s}' passed is not in set {allowed:?}")));
                }
            }
        }
        Ok(())
    }

    /// `azure.ai.ml._utils._endpoint_utils.validate_scoring_script` (online and batch deployment operations):
    /// a scoring script found locally must parse as Python (`ast.parse`), else the SDK refuses the deployment.
    /// amlops does not parse Python; it refuses scripts in other languages (R, ...) by their extension.
    fn scoring_script(&self, doc: &Value) -> Result<()> {
        let Some(cc) = doc.get("code_configuration") else {
            return Ok(());
        };
        let (Some(code), Some(script)) = (
            cc.get("code").and_then(Value::as_str),
            cc.get("scoring_script").and_then(Value::as_str),
        ) else {
            return Ok(());
        };
        let dir = self.file.parent().unwrap_or(Path::new("."));
        let path = dir.join(code).join(script);
        let python = Path::new(script)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("py"));
        if path.is_file() && !python {
            return Err(self.err(
                &["code_configuration".into(), "scoring_script".into()],
                format!(
                    "`{script}` is not a Python scoring script: the SDK parses scoring scripts as Python and \
                     refuses the deployment, and amlops does not support scoring scripts in other languages (R, ...); \
                     use a Python scoring script, or a custom container whose image serves the model"
                ),
            ));
        }
        Ok(())
    }

    /// Prompt flow components (`type: flow`, a `flow.dag.yaml`, a promptflow `$schema`) are registered by the SDK
    /// through the promptflow package, which amlops does not reimplement: refuse them by name.
    fn not_prompt_flow(&self, doc: &Value) -> Result<()> {
        let name = self.file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let schema = doc
            .get("$schema")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let ty = doc.get("type").and_then(Value::as_str).unwrap_or_default();
        if ty.eq_ignore_ascii_case("flow") || schema.contains("promptflow") || name.starts_with("flow.dag.") {
            let field = if ty.is_empty() { "$schema" } else { "type" };
            return Err(self.err(
                &[field.to_string()],
                "prompt flow components are not supported by amlops (the SDK registers them through the \
                 promptflow package); register the flow with `az ml component create` or `pf` and reference it \
                 as `azureml:<name>:<version>`"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `Missing data for required field.` for the first of `fields` absent (or null) in `v`.
    fn required(&self, v: &Value, fields: &[&str], at: &[String], prefix: &str) -> Result<()> {
        for f in fields {
            if v.get(*f).is_none_or(Value::is_null) {
                let mut p = at.to_vec();
                p.push(format!("{prefix}{f}"));
                return Err(self.err(&p, "Missing data for required field.".into()));
            }
        }
        Ok(())
    }

    /// `_input_output_helpers._validate_inputs_for` (`validate_inputs_for_command` of command jobs and of a sweep
    /// job's `trial.command`, `validate_inputs_for_args` of Spark jobs): every `${{inputs.k}}` of the consumer
    /// names one of `v`'s inputs, unless it stands in an optional `[... ${{inputs.k}}]` block.
    fn job_bindings(&self, v: &Value, consumer: &[&str], at: &[String]) -> Result<()> {
        let mut c = Some(v);
        for k in consumer {
            c = c.and_then(|x| x.get(*k));
        }
        let Some(command) = c.and_then(Value::as_str) else {
            return Ok(());
        };
        let name = consumer.last().copied().unwrap_or("command");
        let inputs = v.get("inputs").and_then(Value::as_object);
        let optional = optional_inputs(command);
        for key in bindings(command, "inputs.") {
            let present = inputs.is_some_and(|m| m.get(&key).is_some_and(|x| !x.is_null()));
            if !present && !optional.contains(&key) {
                let mut p = at.to_vec();
                p.extend(consumer.iter().map(|k| k.to_string()));
                return Err(self.err(
                    &p,
                    format!("Inputs to job does not contain '{key}' referenced in {name}: declare it under `inputs`"),
                ));
            }
        }
        Ok(())
    }

    /// `CommandComponent._validate_command`: every `${{...}}` of `command` must resolve on the component; for
    /// `inputs.<k>` / `outputs.<k>` the port must be declared.
    fn component_bindings(&self, v: &Value, at: &[String]) -> Result<()> {
        let Some(command) = v.get("command").and_then(Value::as_str) else {
            return Ok(());
        };
        let mut invalid = Vec::new();
        for expr in all_bindings(command) {
            let mut parts = expr.split('.');
            let (Some(group), Some(name)) = (parts.next(), parts.next()) else {
                continue;
            };
            if (group == "inputs" || group == "outputs")
                && !v
                    .get(group)
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.contains_key(name))
            {
                invalid.push(expr.clone());
            }
        }
        if !invalid.is_empty() {
            let mut p = at.to_vec();
            p.push("command".into());
            return Err(self.err(
                &p,
                format!(
                    "Invalid data binding expression: {} (declare the port under `inputs`/`outputs`)",
                    invalid.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// A job or pipeline node, and the nodes of its `jobs:`.
    fn job(&self, v: &mut Value, at: &mut Vec<String>, node: bool) -> Result<()> {
        if node {
            self.apply(v, NODE_RULES, at)?;
        }
        self.apply(v, JOB_RULES, at)?;
        if node
            && let Some(t) = nodes::component_file_type(self.file, v)
            && let Some(m) = v.as_object_mut()
        {
            m.insert("type".into(), json!(t));
        }
        if node && v.get("type").is_none_or(Value::is_null) && nodes::inline_parallel(v) {
            // `PipelineJobsField` is a `TypeSensitiveUnionField`: a node without `type` loads with the first schema
            // that accepts it. Without `component` or `command`, the command and import schemas fail on their
            // required fields and `PipelineParallelJobSchema` (no required field, `unknown=INCLUDE`) takes it
            if let Some(m) = v.as_object_mut() {
                m.insert("type".into(), json!("parallel"));
            }
        }
        // `BaseJobSchema.identity` / the node schemas' `identity`: a union of the managed, AML token and user
        // identity schemas, each with a required `type`
        if let Some(id) = v.get("identity").filter(|i| i.is_object()) {
            let mut p = at.clone();
            p.push("identity".into());
            self.required(id, &["type"], &p, "")?;
        }
        let ty = v
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("command")
            .to_string();
        // `BaseJobSchema` / `component_job.py`: `tags` and `properties` are `Dict(values=Str(allow_none=True))`,
        // except a Spark job's `properties` (`Raw`)
        self.apply(v, &[(&["tags", "*"], Field::Str)], at)?;
        if ty != "spark" {
            self.apply(v, &[(&["properties", "*"], Field::Str)], at)?;
        }
        if ty == "automl" {
            self.automl(v, at, node)?;
            automl_defaults(v);
        }
        if ty == "parallel" {
            self.apply(v, numbers::PARALLEL_RULES, at)?;
        }
        if matches!(ty.as_str(), "sweep" | "automl") {
            self.apply(v, numbers::SWEEP_RULES, at)?;
        }
        if ty == "automl" {
            self.apply(v, numbers::TRAINING_PARAMETER_RULES, at)?;
        }
        if matches!(ty.as_str(), "parallel" | "automl") {
            // `ParameterizedParallelSchema` / `AutoMLJobSchema`: `environment_variables` values are `Str()`
            self.apply(v, &[(&["environment_variables", "*"], Field::Str)], at)?;
        }
        if ty == "command" && v.get("command").is_some() {
            if node {
                // an inline command node is an anonymous command component
                self.required(v, &["environment"], at, "component.")?;
                self.component_bindings(v, at)?;
            } else {
                self.job_bindings(v, &["command"], at)?;
            }
        }
        if node && ty == "spark" {
            // `Spark._validate_fields` → `_validate_compute_or_resources`: a Spark node runs on an attached pool
            // (`compute`) or serverless (`resources`), not both (the node may leave both out and take the
            // pipeline's compute)
            let given = |k: &str| v.get(k).is_some_and(|x| !x.is_null());
            if given("compute") && given("resources") {
                let mut p = at.clone();
                p.push("compute".into());
                return Err(self.err(
                    &p,
                    "Only one of either compute or resources may be specified for Spark job: remove `compute` \
                     (an attached Spark pool) or `resources` (serverless)"
                        .into(),
                ));
            }
        }
        if !node && ty == "spark" {
            self.job_bindings(v, &["args"], at)?;
        }
        if !node && ty == "sweep" {
            self.job_bindings(v, &["trial", "command"], at)?;
        }
        if node && v.get("command").is_none() && ty == "command" {
            self.required(v, &["component"], at, "")?;
        }
        // `CommandSchema.component`: an inline component mapping loads with `AnonymousCommandComponentSchema`, a
        // `ParameterizedCommandSchema` whose `command` and `environment` are required
        if node
            && ty == "command"
            && let Some(c) = v.get("component").filter(|c| c.is_object())
            && c.get("type")
                .and_then(Value::as_str)
                .is_none_or(|t| t == "command")
        {
            let mut p = at.clone();
            p.push("component".into());
            self.required(c, &["command", "environment"], &p, "")?;
        }
        let default_compute = v
            .get("settings")
            .and_then(|s| s.get("default_compute"))
            .or_else(|| v.get("compute"))
            .is_some_and(|c| !c.is_null());
        if let Some(Value::Object(jobs)) = v.get_mut("jobs") {
            at.push("jobs".into());
            for (k, child) in jobs.iter_mut() {
                at.push(k.clone());
                let r = self.job(child, at, true);
                // `PipelineJob._validate_compute_is_set`: a top-level pipeline's command, sweep, Spark and
                // parallel nodes need a compute, their own or the pipeline's (`compute`, `settings.default_compute`)
                let r = r.and_then(|()| {
                    if !node && !default_compute && nodes::needs_compute(child) {
                        Err(self.err(&[at.clone(), vec!["compute".into()]].concat(), "Compute not set: give the node a `compute` or the pipeline `settings.default_compute`".into()))
                    } else {
                        Ok(())
                    }
                });
                at.pop();
                r?;
            }
            at.pop();
        }
        // `PipelineJob._validate_compute_is_set` → `PipelineComponent._validate_compute_is_set`: a job built from a
        // local pipeline component file checks that component's nodes the same way
        if !node
            && !default_compute
            && let Some(k) = nodes::component_node_without_compute(self.file, v)
        {
            let p = [
                "component".to_string(),
                "jobs".into(),
                k.clone(),
                "compute".into(),
            ];
            return Err(self.err(
                &p,
                format!(
                    "Compute not set for the component's node `{k}`: give the job a `compute` or \
                     `settings.default_compute`, or the node a `compute`"
                ),
            ));
        }
        Ok(())
    }
}

/// Loads `doc` (a file of `kind`) as the SDK's schema for that kind would: see the module docs.
pub(crate) fn load(kind: Kind, doc: &mut Value, file: &Path, text: &str) -> Result<()> {
    let l = Loader { file, text };
    let mut at = Vec::new();
    match kind {
        Kind::Job => l.job(doc, &mut at, false),
        Kind::Component => {
            l.not_prompt_flow(doc)?;
            l.apply(doc, COMPONENT_RULES, &mut at)?;
            l.apply(doc, &[(&["tags", "*"], Field::Str)], &mut at)?;
            let ty = doc
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("command")
                .to_string();
            if ty == "command" && doc.get("queue_settings").is_some() {
                // not a command component field: the SDK fails serialising it (`QueueSettings is not JSON
                // serializable`)
                return Err(l.err(
                    &["queue_settings".to_string()],
                    "queue_settings is not supported on components: set it on the job or pipeline node"
                        .into(),
                ));
            }
            // `InputPortSchema` / `ParameterSchema` / `OutputPortSchema` (`_schema/component/input_output.py`, used
            // by command, Spark and pipeline components): every port needs a `type`
            for group in ["inputs", "outputs"] {
                if let Some(Value::Object(ports)) = doc.get(group) {
                    for (k, port) in ports {
                        if port.is_object() {
                            l.required(port, &["type"], &[group.to_string(), k.clone()], "")?;
                        }
                    }
                }
            }
            if ty == "command" {
                // `CommandComponentSchema`: `command` and `environment` are required
                l.required(doc, &["command", "environment"], &at, "")?;
                l.component_bindings(doc, &at)?;
            }
            // a pipeline component's nodes load like a pipeline job's
            if let Some(Value::Object(jobs)) = doc.get_mut("jobs") {
                at.push("jobs".into());
                for (k, child) in jobs.iter_mut() {
                    at.push(k.clone());
                    l.job(child, &mut at, true)?;
                    at.pop();
                }
            }
            Ok(())
        }
        Kind::OnlineDeployment => {
            l.scoring_script(doc)?;
            l.apply(doc, ONLINE_DEPLOYMENT_RULES, &mut at)?;
            l.online_deployment(doc)
        }
        Kind::BatchDeployment => {
            l.scoring_script(doc)?;
            // `BatchDeploymentOperations` turns a `job_definition` into a pipeline component registered from the
            // job (`PipelineComponent(source_job_id=...)`), which needs the job from the workspace: not done here
            if doc.get("job_definition").is_some_and(|j| !j.is_null())
                && doc.get("component").is_none_or(Value::is_null)
            {
                return Err(l.err(
                    &["job_definition".to_string()],
                    "batch pipeline deployments built from a pipeline job (`job_definition`) are not supported by \
                     amlops: register the pipeline as a component and deploy it with `component: \
                     azureml:<name>:<version>`"
                        .into(),
                ));
            }
            l.apply(doc, BATCH_DEPLOYMENT_RULES, &mut at)?;
            l.batch_deployment(doc)
        }
        Kind::OnlineEndpoint => {
            l.apply(doc, ONLINE_ENDPOINT_RULES, &mut at)?;
            l.online_endpoint(doc)
        }
        Kind::BatchEndpoint => l.apply(doc, BATCH_ENDPOINT_RULES, &mut at),
        Kind::Model => l.apply(doc, MODEL_RULES, &mut at),
        Kind::Data => l.apply(doc, DATA_RULES, &mut at),
        // `_schema/assets/environment.py`: `Route.port = fields.Int()`
        Kind::Environment => l.apply(doc, &[(&["inference_config", "*", "port"], Field::Int)], &mut at),
    }
}

/// `load_default`s of the AutoML task schemas (`_schema/automl/table_vertical/classification.py` etc.): the
/// task's primary metric (snake form, as loaded).
fn automl_defaults(v: &mut Value) {
    let Some(m) = v.as_object_mut() else { return };
    let task = m
        .get("task")
        .and_then(Value::as_str)
        .map(camel_to_snake)
        .unwrap_or_default();
    let metric = match task.as_str() {
        "classification" => Some("auc_weighted"),
        "regression" | "forecasting" => Some("normalized_root_mean_squared_error"),
        "image_classification" | "text_classification" | "text_classification_multilabel" | "text_ner" => {
            Some("accuracy")
        }
        "image_classification_multilabel" => Some("iou"),
        "image_object_detection" | "image_instance_segmentation" => Some("mean_average_precision"),
        _ => None,
    };
    if let Some(metric) = metric
        && m.get("primary_metric").is_none_or(Value::is_null)
    {
        m.insert("primary_metric".into(), json!(metric));
    }
}

/// `re.findall(r"\${{inputs\.([\w\.-]+)}}", command)` after the prefix.
fn bindings(command: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let pat = format!("${{{{{prefix}");
    let mut rest = command;
    while let Some(i) = rest.find(&pat) {
        let after = &rest[i + pat.len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .collect();
        if !name.is_empty() && after[name.len()..].starts_with("}}") {
            out.push(name);
        }
        rest = after;
    }
    out
}

/// `re.findall(r"\[[\w\.\s-]*\${{inputs\.([\w\.-]+)}}]", command)`: inputs in optional blocks.
fn optional_inputs(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in command.match_indices('[') {
        let after = &command[i + 1..];
        let prefix: String = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || c.is_whitespace() || matches!(c, '_' | '.' | '-'))
            .collect();
        let tail = &after[prefix.len()..];
        if let Some(name) = bindings(tail, "inputs.").first()
            && tail.starts_with(&format!("${{{{inputs.{name}}}}}]"))
        {
            out.push(name.clone());
        }
    }
    out
}

/// `get_all_data_binding_expressions(command, is_singular=False)`: `re.findall(r"\$\{\{\s*(\S*?)\s*\}\}")`.
fn all_bindings(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = command;
    while let Some(i) = rest.find("${{") {
        let after = &rest[i + 3..];
        let Some(end) = after.find("}}") else { break };
        let inner = after[..end].trim();
        if !inner.is_empty() && !inner.contains(char::is_whitespace) {
            out.push(inner.to_string());
        }
        rest = &after[end + 2..];
    }
    out
}

/// `azure.ai.ml._utils.utils.camel_to_snake` (comma-separated values converted one by one).
pub(crate) fn camel_to_snake(s: &str) -> String {
    s.split(',')
        .map(|t| camel_to_snake_one(if s.contains(',') { t.trim() } else { t }))
        .collect::<Vec<_>>()
        .join(",")
}

/// `_camel_to_snake_convert`: `re.sub("(.)([A-Z][a-z]+)", r"\1_\2")`, then `re.sub("([a-z0-9])([A-Z])",
/// r"\1_\2")`, lower-cased.
fn camel_to_snake_one(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    // pass 1: before every capital followed by lower-case letters (not at the start, non-overlapping)
    let mut p1 = String::new();
    let mut i = 0;
    while i < chars.len() {
        if i + 2 < chars.len() + 1
            && i + 1 < chars.len()
            && chars[i + 1].is_ascii_uppercase()
            && chars.get(i + 2).is_some_and(char::is_ascii_lowercase)
        {
            // (.)([A-Z][a-z]+): consume the match
            p1.push(chars[i]);
            p1.push('_');
            p1.push(chars[i + 1]);
            let mut j = i + 2;
            while j < chars.len() && chars[j].is_ascii_lowercase() {
                p1.push(chars[j]);
                j += 1;
            }
            i = j;
        } else {
            p1.push(chars[i]);
            i += 1;
        }
    }
    // pass 2
    let c2: Vec<char> = p1.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c2.len() {
        out.push(c2[i]);
        if (c2[i].is_ascii_lowercase() || c2[i].is_ascii_digit())
            && c2.get(i + 1).is_some_and(char::is_ascii_uppercase)
        {
            out.push('_');
            out.push(c2[i + 1]);
            i += 2;
        } else {
            i += 1;
        }
    }
    out.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_to_snake_follows_the_sdk() {
        assert_eq!(camel_to_snake("LightGBM"), "light_gbm");
        assert_eq!(camel_to_snake("AUCWeighted"), "auc_weighted");
        assert_eq!(camel_to_snake("Accuracy"), "accuracy");
        assert_eq!(camel_to_snake("XGBoostClassifier"), "xg_boost_classifier");
        assert_eq!(
            camel_to_snake("normalized_root_mean_squared_error"),
            "normalized_root_mean_squared_error"
        );
        assert_eq!(camel_to_snake("TextNER"), "text_ner");
        assert_eq!(camel_to_snake("IOU"), "iou");
    }

    #[test]
    fn ints_load_like_marshmallow() {
        let mut doc = json!({"instance_type": "Standard_DS3_v2", "instance_count": "2", "request_settings": {"request_timeout_ms": 90000.0},
            "liveness_probe": {"period": 3.7}});
        load(Kind::OnlineDeployment, &mut doc, Path::new("d.yml"), "").unwrap();
        assert_eq!(
            doc,
            json!({"instance_type": "Standard_DS3_v2", "instance_count": 2, "request_settings": {"request_timeout_ms": 90000},
            "liveness_probe": {"period": 3}})
        );
        let mut bad = json!({"instance_type": "Standard_DS3_v2", "instance_count": "two"});
        let e = load(Kind::OnlineDeployment, &mut bad, Path::new("d.yml"), "").unwrap_err();
        assert!(e.to_string().contains("instance_count"), "{e}");
    }

    #[test]
    fn enums_fold_case_or_reject() {
        let mut doc = json!({"type": "COMMAND", "command": "echo ${{inputs.x}}", "environment": "azureml:e:1",
            "inputs": {"x": {"type": "uri_folder"}}});
        load(Kind::Component, &mut doc, Path::new("c.yml"), "").unwrap();
        assert_eq!(doc["type"], "command");
        let mut bad =
            json!({"command": "echo", "environment": "azureml:e:1", "inputs": {"x": {"type": "Uri_Folder"}}});
        assert!(load(Kind::Component, &mut bad, Path::new("c.yml"), "").is_err());
        let mut job = json!({"jobs": {"a": {"type": "Command", "component": "azureml:c:1", "compute": "azureml:cpu", "inputs": {"i": {"mode": "RO_MOUNT"}}}}});
        load(Kind::Job, &mut job, Path::new("j.yml"), "").unwrap();
        assert_eq!(job["jobs"]["a"]["type"], "command");
        assert_eq!(job["jobs"]["a"]["inputs"]["i"]["mode"], "ro_mount");
        let mut bind = json!({"instance_type": "Standard_DS3_v2", "instance_count": "${{parent.inputs.n}}"});
        load(Kind::OnlineDeployment, &mut bind, Path::new("d.yml"), "").unwrap();
        assert_eq!(bind["instance_count"], "${{parent.inputs.n}}");
    }

    #[test]
    fn command_bindings_name_declared_ports() {
        let job = |cmd: &str| json!({"type": "command", "command": cmd, "inputs": {"a": 1}});
        let ok = |mut v: Value, kind| load(kind, &mut v, Path::new("j.yml"), "").is_ok();
        assert!(ok(job("echo ${{inputs.a}} $[[--b ${{inputs.b}}]]"), Kind::Job));
        assert!(!ok(job("echo ${{inputs.b}}"), Kind::Job));
        let comp = |cmd: &str| {
            json!({"command": cmd, "environment": "azureml:e:1", "inputs": {"a": {"type": "string"}},
                "outputs": {"o": {"type": "uri_folder"}}})
        };
        assert!(ok(comp("run ${{inputs.a}} ${{outputs.o}}"), Kind::Component));
        assert!(!ok(comp("run ${{outputs.p}}"), Kind::Component));
        assert!(!ok(
            json!({"command": "x", "environment": "e", "inputs": {"a": {"optional": true}}}),
            Kind::Component
        ));
        assert!(!ok(
            json!({"type": "pipeline", "jobs": {}, "tags": {"n": 1}}),
            Kind::Job
        ));
    }
}
