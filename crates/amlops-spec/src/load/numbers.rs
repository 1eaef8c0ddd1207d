//! Typed scalar fields of jobs and nodes that the SDK's schemas cast on load (`fields.Int`, `fields.Float`,
//! `fields.Bool`, `UnionField([DumpableIntegerField(strict=True), fields.Float()])`), so that a number or
//! boolean written as a string (or an int written as a float) is sent as the SDK sends it.

use serde_json::{Value, json};

use super::{Field, Rule};

/// Loads `v` as `field` (one of the number-like fields below); false when the value is not valid for it.
pub(super) fn cast(field: Field, v: &mut Value) -> bool {
    match field {
        Field::Float | Field::Number => {
            let f = match &*v {
                Value::Null => return true,
                Value::Number(n) if matches!(field, Field::Number) || n.is_f64() => return true,
                Value::Number(n) => n.as_f64(),
                Value::String(s) => py_float_str(s),
                _ => None,
            };
            match f.and_then(serde_json::Number::from_f64) {
                Some(n) => *v = Value::Number(n),
                None => return false,
            }
        }
        // `VersionField._deserialize`: numbers become `str(value)`
        Field::Version => {
            if let Value::Number(_) = v {
                *v = Value::String(crate::yaml::scalar_to_py_str(v));
            }
        }
        Field::SparkConf => {
            if let Value::String(s) = &*v
                && !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && let Ok(n) = s.parse::<i64>()
            {
                *v = json!(n);
            }
        }
        _ => {}
    }
    true
}

/// Parallel nodes (`_schema/job/parameterized_parallel.py`: the thresholds and concurrency are
/// `fields.Integer`, `task` is `ComponentParallelTaskSchema` with a `StringTransformedEnum` type,
/// `retry_settings` is `RetrySettingsSchema` with `UnionField([fields.Int(), DataBindingStr])`).
pub(super) const PARALLEL_RULES: &[Rule] = &[
    (&["max_concurrency_per_instance"], Field::Int),
    (&["error_threshold"], Field::Int),
    (&["mini_batch_error_threshold"], Field::Int),
    (&["task", "type"], Field::Lower),
    (&["retry_settings", "timeout"], Field::Int),
    (&["retry_settings", "max_retries"], Field::Int),
];

/// Sweep jobs and nodes and AutoML sweeps: `_schema/_sweep/search_space/*.py` (`min_value`, `max_value`, `q`,
/// `mu`, `sigma` are `UnionField([DumpableIntegerField(strict=True), fields.Float()])`, `randint.upper` is
/// `fields.Integer`), `_schema/_sweep/sweep_termination.py` (`BanditPolicySchema.slack_factor/slack_amount`
/// are `fields.Float`); AutoML search spaces are lists of these (`image_model_distribution_settings.py`,
/// `nlp_parameter_subspace.py`).
pub(super) const SWEEP_RULES: &[Rule] = &[
    (&["search_space", "*", "min_value"], Field::Number),
    (&["search_space", "*", "max_value"], Field::Number),
    (&["search_space", "*", "q"], Field::Number),
    (&["search_space", "*", "mu"], Field::Number),
    (&["search_space", "*", "sigma"], Field::Number),
    (&["search_space", "*", "upper"], Field::Int),
    (&["search_space", "#", "*", "min_value"], Field::Number),
    (&["search_space", "#", "*", "max_value"], Field::Number),
    (&["search_space", "#", "*", "q"], Field::Number),
    (&["search_space", "#", "*", "mu"], Field::Number),
    (&["search_space", "#", "*", "sigma"], Field::Number),
    (&["search_space", "#", "*", "upper"], Field::Int),
    (&["early_termination", "slack_factor"], Field::Float),
    (&["early_termination", "slack_amount"], Field::Float),
    (&["sweep", "early_termination", "slack_factor"], Field::Float),
    (&["sweep", "early_termination", "slack_amount"], Field::Float),
];

/// AutoML `training_parameters`: `_schema/automl/image_vertical/image_model_settings.py`
/// (`ImageModelSettingsClassificationSchema`, `ImageModelSettingsObjectDetectionSchema`) and
/// `_schema/automl/nlp_vertical/nlp_fixed_parameters.py`.
pub(super) const TRAINING_PARAMETER_RULES: &[Rule] = &[
    (&["training_parameters", "ams_gradient"], Field::Bool),
    (&["training_parameters", "beta1"], Field::Float),
    (&["training_parameters", "beta2"], Field::Float),
    (&["training_parameters", "checkpoint_frequency"], Field::Int),
    (&["training_parameters", "distributed"], Field::Bool),
    (&["training_parameters", "early_stopping"], Field::Bool),
    (&["training_parameters", "early_stopping_delay"], Field::Int),
    (&["training_parameters", "early_stopping_patience"], Field::Int),
    (&["training_parameters", "evaluation_frequency"], Field::Int),
    (&["training_parameters", "enable_onnx_normalization"], Field::Bool),
    (&["training_parameters", "gradient_accumulation_step"], Field::Int),
    (
        &["training_parameters", "gradient_accumulation_steps"],
        Field::Int,
    ),
    (&["training_parameters", "layers_to_freeze"], Field::Int),
    (&["training_parameters", "learning_rate"], Field::Float),
    (&["training_parameters", "momentum"], Field::Float),
    (&["training_parameters", "nesterov"], Field::Bool),
    (&["training_parameters", "number_of_epochs"], Field::Int),
    (&["training_parameters", "number_of_workers"], Field::Int),
    (&["training_parameters", "random_seed"], Field::Int),
    (&["training_parameters", "step_lr_gamma"], Field::Float),
    (&["training_parameters", "step_lr_step_size"], Field::Int),
    (&["training_parameters", "training_batch_size"], Field::Int),
    (&["training_parameters", "validation_batch_size"], Field::Int),
    (&["training_parameters", "warmup_cosine_lr_cycles"], Field::Float),
    (
        &["training_parameters", "warmup_cosine_lr_warmup_epochs"],
        Field::Int,
    ),
    (&["training_parameters", "weight_decay"], Field::Float),
    (&["training_parameters", "training_crop_size"], Field::Int),
    (&["training_parameters", "validation_crop_size"], Field::Int),
    (&["training_parameters", "validation_resize_size"], Field::Int),
    (&["training_parameters", "weighted_loss"], Field::Int),
    (&["training_parameters", "box_detections_per_image"], Field::Int),
    (&["training_parameters", "box_score_threshold"], Field::Float),
    (&["training_parameters", "image_size"], Field::Int),
    (&["training_parameters", "max_size"], Field::Int),
    (&["training_parameters", "min_size"], Field::Int),
    (&["training_parameters", "multi_scale"], Field::Bool),
    (&["training_parameters", "nms_iou_threshold"], Field::Float),
    (&["training_parameters", "tile_overlap_ratio"], Field::Float),
    (
        &["training_parameters", "tile_predictions_nms_threshold"],
        Field::Float,
    ),
    (&["training_parameters", "validation_iou_threshold"], Field::Float),
    (&["training_parameters", "warmup_ratio"], Field::Float),
];

/// Python's `float(s)` as marshmallow's `fields.Float(allow_nan=False)` applies it: surrounding whitespace
/// and `_` between digits allowed, `nan`/`inf` refused.
pub(super) fn py_float_str(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.starts_with('_') || t.ends_with('_') || t.contains("__") {
        return None;
    }
    let f = t.replace('_', "").parse::<f64>().ok()?;
    f.is_finite().then_some(f)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Field, cast, py_float_str};

    #[test]
    fn number_fields_cast_like_marshmallow() {
        let mut v = json!("0.2");
        assert!(cast(Field::Float, &mut v));
        assert_eq!(v, json!(0.2));
        let mut v = json!(2);
        assert!(cast(Field::Float, &mut v));
        assert!(v.is_f64());
        let mut v = json!(2);
        assert!(cast(Field::Number, &mut v));
        assert_eq!(v, json!(2));
        let mut v = json!(true);
        assert!(!cast(Field::Float, &mut v));
        let mut v = json!(3.4);
        assert!(cast(Field::Version, &mut v));
        assert_eq!(v, json!("3.4"));
        let mut v = json!("4");
        assert!(cast(Field::SparkConf, &mut v));
        assert_eq!(v, json!(4));
        let mut v = json!("4g");
        assert!(cast(Field::SparkConf, &mut v));
        assert_eq!(v, json!("4g"));
    }

    #[test]
    fn floats_parse_like_python() {
        assert_eq!(py_float_str(" 0.005 "), Some(0.005));
        assert_eq!(py_float_str("1_000.5"), Some(1000.5));
        assert_eq!(py_float_str("2e-3"), Some(0.002));
        assert_eq!(py_float_str("nan"), None);
        assert_eq!(py_float_str("inf"), None);
        assert_eq!(py_float_str("_1"), None);
        assert_eq!(py_float_str("three"), None);
    }
}
