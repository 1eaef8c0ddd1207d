//! The per-kind field tables of [`super`]: one line per schema field, naming the SDK schema it comes from.

use super::{Field, Rule};

/// Component port and parameter types and modes (`azure.ai.ml._schema.component.input_output`:
/// `InputPortSchema`/`OutputPortSchema`/`ParameterSchema` `type = DumpableEnumField(allowed_values=
/// SUPPORTED_PORT_TYPES | SUPPORTED_PARAM_TYPES)`, `mode` from `SUPPORTED_INPUT_OUTPUT_MODES`).
const PORT_TYPES: &[&str] = &[
    "path",
    "custom_model",
    "mlflow_model",
    "mltable",
    "triton_model",
    "uri_file",
    "uri_folder",
    "boolean",
    "integer",
    "number",
    "string",
];
const PORT_MODES: &[&str] = &[
    "direct",
    "download",
    "eval_download",
    "eval_mount",
    "mount",
    "ro_mount",
    "rw_mount",
    "upload",
    "link",
];

/// `_schema/job/distribution.py`, `_schema/job/job_limits.py`, `_schema/job_resource_configuration.py`,
/// `_schema/job/input_output_entry.py`, `_schema/job/identity.py`, `_schema/job/services.py`,
/// `_schema/_sweep/*`, `_schema/automl/*`: fields of a job or of a pipeline node.
pub(super) const JOB_RULES: &[Rule] = &[
    (&["distribution", "type"], Field::Lower),
    (&["distribution", "process_count_per_instance"], Field::Int),
    (&["distribution", "worker_count"], Field::Int),
    (&["distribution", "parameter_server_count"], Field::Int),
    (&["distribution", "port"], Field::Int),
    (&["distribution", "dashboard_port"], Field::Int),
    (&["resources", "instance_count"], Field::Int),
    (&["limits", "timeout"], Field::Int),
    (&["limits", "max_total_trials"], Field::Int),
    (&["limits", "max_concurrent_trials"], Field::Int),
    (&["limits", "trial_timeout"], Field::Int),
    (&["inputs", "*", "type"], Field::Lower),
    (&["inputs", "*", "mode"], Field::Lower),
    (&["outputs", "*", "type"], Field::Lower),
    (&["outputs", "*", "mode"], Field::Lower),
    (&["identity", "type"], Field::Lower),
    (&["services", "*", "type"], Field::Lower),
    (&["services", "*", "port"], Field::Int),
    (&["sampling_algorithm"], Field::Lower),
    (&["sampling_algorithm", "type"], Field::Lower),
    (&["sampling_algorithm", "seed"], Field::Int),
    (&["objective", "goal"], Field::Lower),
    (&["early_termination", "type"], Field::Lower),
    (&["early_termination", "delay_evaluation"], Field::Int),
    (&["early_termination", "evaluation_interval"], Field::Int),
    (&["early_termination", "truncation_percentage"], Field::Int),
    (&["search_space", "*", "type"], Field::Lower),
    // AutoML (`_schema/automl/automl_vertical.py`, `featurization_settings.py`, `*_vertical/*.py`)
    (&["log_verbosity"], Field::Snake),
    (&["primary_metric"], Field::Snake),
    (&["featurization", "mode"], Field::Lower),
    (&["training_data", "type"], Field::Lower),
    (&["validation_data", "type"], Field::Lower),
    (&["test_data", "type"], Field::Lower),
    (&["training", "allowed_training_algorithms", "#"], Field::Snake),
    (&["training", "blocked_training_algorithms", "#"], Field::Snake),
    (&["limits", "max_trials"], Field::Int),
    (&["limits", "max_nodes"], Field::Int),
    (&["limits", "max_cores_per_trial"], Field::Int),
    (&["sweep", "sampling_algorithm"], Field::Lower),
    (&["sweep", "early_termination", "type"], Field::Snake),
    (&["sweep", "early_termination", "delay_evaluation"], Field::Int),
    (&["sweep", "early_termination", "evaluation_interval"], Field::Int),
    (&["search_space", "#", "*", "type"], Field::Lower),
    (&["limits", "timeout_minutes"], Field::Int),
    (&["limits", "trial_timeout_minutes"], Field::Int),
    (&["limits", "enable_early_termination"], Field::Bool),
    (&["training", "enable_dnn_training"], Field::Bool),
    (&["training", "enable_model_explainability"], Field::Bool),
    (&["training", "enable_onnx_compatible_models"], Field::Bool),
    (&["training", "enable_stack_ensemble"], Field::Bool),
    (&["training", "enable_vote_ensemble"], Field::Bool),
    // `_schema/pipeline/settings.py`
    (&["settings", "continue_on_step_failure"], Field::Bool),
    (&["settings", "force_rerun"], Field::Bool),
    // `_schema/job/parameterized_spark.py`: conf values are `fields.Raw()`; digit strings sent as ints
    (&["conf", "*"], Field::SparkConf),
    // `_schema/spark_resource_configuration.py`: `runtime_version = NumberVersionField()`
    (&["resources", "runtime_version"], Field::Version),
    (&["environment", "inference_config", "*", "port"], Field::Int),
];

/// Pipeline nodes (`_schema/pipeline/component_job.py`: `type = StringTransformedEnum(...)`) and their task
/// (`_schema/pipeline/automl_node.py`: `task` with `camel_to_snake`).
pub(super) const NODE_RULES: &[Rule] = &[(&["type"], Field::Lower), (&["task"], Field::Snake)];

/// `_schema/component/component.py`, `command_component.py`, `input_output.py`.
pub(super) const COMPONENT_RULES: &[Rule] = &[
    (&["type"], Field::Lower),
    (&["distribution", "type"], Field::Lower),
    (&["distribution", "process_count_per_instance"], Field::Int),
    (&["distribution", "worker_count"], Field::Int),
    (&["distribution", "parameter_server_count"], Field::Int),
    (&["resources", "instance_count"], Field::Int),
    (&["inputs", "*", "type"], Field::Exact(PORT_TYPES)),
    (&["inputs", "*", "mode"], Field::Exact(PORT_MODES)),
    (&["outputs", "*", "type"], Field::Exact(PORT_TYPES)),
    (&["outputs", "*", "mode"], Field::Exact(PORT_MODES)),
    (&["inputs", "*", "optional"], Field::Bool),
    // `ComponentSchema.is_deterministic = fields.Bool()`: `'true'` loads as `true`
    (&["is_deterministic"], Field::Bool),
    // `ParameterSchema.enum = fields.List(fields.Str())`
    (&["inputs", "*", "enum", "#"], Field::Str),
    (&["conf", "*"], Field::SparkConf),
    (&["environment", "inference_config", "*", "port"], Field::Int),
];

/// `_schema/_deployment/online/online_deployment.py`, `request_settings_schema.py`, `liveness_probe.py`,
/// `scale_settings_schema.py`.
pub(super) const ONLINE_DEPLOYMENT_RULES: &[Rule] = &[
    (&["instance_count"], Field::Int),
    (
        &["request_settings", "max_concurrent_requests_per_instance"],
        Field::Int,
    ),
    (&["request_settings", "max_queue_wait_ms"], Field::Int),
    (&["request_settings", "request_timeout_ms"], Field::Int),
    (&["liveness_probe", "failure_threshold"], Field::Int),
    (&["liveness_probe", "initial_delay"], Field::Int),
    (&["liveness_probe", "period"], Field::Int),
    (&["liveness_probe", "success_threshold"], Field::Int),
    (&["liveness_probe", "timeout"], Field::Int),
    (&["liveness_probe", "port"], Field::Int),
    (&["readiness_probe", "failure_threshold"], Field::Int),
    (&["readiness_probe", "initial_delay"], Field::Int),
    (&["readiness_probe", "period"], Field::Int),
    (&["readiness_probe", "success_threshold"], Field::Int),
    (&["readiness_probe", "timeout"], Field::Int),
    (&["readiness_probe", "port"], Field::Int),
    (&["scale_settings", "type"], Field::Snake),
    (&["scale_settings", "max_instances"], Field::Int),
    (&["scale_settings", "min_instances"], Field::Int),
    (&["scale_settings", "polling_interval"], Field::Int),
    (&["scale_settings", "target_utilization_percentage"], Field::Int),
    (&["model", "type"], Field::Lower),
    (&["app_insights_enabled"], Field::Bool),
    (&["environment", "inference_config", "*", "port"], Field::Int),
];

/// `_schema/_deployment/batch/batch_deployment.py`, `batch_deployment_settings.py`,
/// `model_batch_deployment_settings.py`, `compute_binding.py`.
pub(super) const BATCH_DEPLOYMENT_RULES: &[Rule] = &[
    (&["type"], Field::Lower),
    (&["error_threshold"], Field::Int),
    (&["max_concurrency_per_instance"], Field::Int),
    (&["mini_batch_size"], Field::Int),
    (&["output_action"], Field::Lower),
    (&["retry_settings", "max_retries"], Field::Int),
    (&["retry_settings", "timeout"], Field::Int),
    (&["resources", "instance_count"], Field::Int),
    (&["settings", "error_threshold"], Field::Int),
    (&["settings", "instance_count"], Field::Int),
    (&["settings", "max_concurrency_per_instance"], Field::Int),
    (&["settings", "mini_batch_size"], Field::Int),
    (&["settings", "output_action"], Field::Lower),
    (&["settings", "retry_settings", "max_retries"], Field::Int),
    (&["settings", "retry_settings", "timeout"], Field::Int),
    (&["model", "type"], Field::Lower),
    (&["environment", "inference_config", "*", "port"], Field::Int),
];

/// `_schema/_endpoint/online/online_endpoint.py`, `batch/batch_endpoint.py`, `_schema/core/identity.py`.
pub(super) const ONLINE_ENDPOINT_RULES: &[Rule] = &[
    (&["auth_mode"], Field::Snake),
    (&["identity", "type"], Field::Snake),
    (&["traffic", "*"], Field::Int),
    (&["mirror_traffic", "*"], Field::Int),
];
pub(super) const BATCH_ENDPOINT_RULES: &[Rule] = &[(&["auth_mode"], Field::Lower)];

/// `_schema/assets/model.py` (`type` with the default transform), `_schema/assets/data.py` (case-sensitive).
pub(super) const MODEL_RULES: &[Rule] = &[(&["type"], Field::Lower)];
pub(super) const DATA_RULES: &[Rule] = &[(&["type"], Field::Exact(&["uri_file", "uri_folder", "mltable"]))];
