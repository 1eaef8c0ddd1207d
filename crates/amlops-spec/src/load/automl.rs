//! AutoML jobs and pipeline nodes (`type: automl`) as the SDK loads them: the task picks one schema per task
//! (`azure.ai.ml._schema.automl`: `table_vertical/*`, `image_vertical/*`, `nlp_vertical/*`, and the node
//! variants of `_schema/pipeline/automl_node.py`), and each vertical has its own field set, limits, featurization
//! and sweep settings. A field of another vertical is an unknown field for the SDK.

use serde_json::Value;

use super::Loader;
use crate::error::Result;

/// The three AutoML verticals (`AutoMLTableVerticalSchema`, `ImageVerticalSchema`, `NlpVerticalSchema`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Vertical {
    Table,
    Image,
    Nlp,
}

/// A task: its name (as `AutoMLJob._get_task_mapping` keys it), vertical, schema and whether
/// `target_column_name` is required (`fields.Str(required=True)` everywhere but `TextNerSchema`).
struct Task {
    name: &'static str,
    vertical: Vertical,
    schema: &'static str,
}

const TASKS: &[Task] = &[
    Task {
        name: "classification",
        vertical: Vertical::Table,
        schema: "AutoMLClassificationSchema",
    },
    Task {
        name: "regression",
        vertical: Vertical::Table,
        schema: "AutoMLRegressionSchema",
    },
    Task {
        name: "forecasting",
        vertical: Vertical::Table,
        schema: "AutoMLForecastingSchema",
    },
    Task {
        name: "image_classification",
        vertical: Vertical::Image,
        schema: "ImageClassificationSchema",
    },
    Task {
        name: "image_classification_multilabel",
        vertical: Vertical::Image,
        schema: "ImageClassificationMultilabelSchema",
    },
    Task {
        name: "image_object_detection",
        vertical: Vertical::Image,
        schema: "ImageObjectDetectionSchema",
    },
    Task {
        name: "image_instance_segmentation",
        vertical: Vertical::Image,
        schema: "ImageInstanceSegmentationSchema",
    },
    Task {
        name: "text_classification",
        vertical: Vertical::Nlp,
        schema: "TextClassificationSchema",
    },
    Task {
        name: "text_classification_multilabel",
        vertical: Vertical::Nlp,
        schema: "TextClassificationMultilabelSchema",
    },
    Task {
        name: "text_ner",
        vertical: Vertical::Nlp,
        schema: "TextNerSchema",
    },
];

/// The fields every AutoML task schema has: `BaseJobSchema` (`$schema` aside, its dump-only fields are unknown
/// on load), `AutoMLJobSchema`, `AutoMLVerticalSchema` and the task schemas' `task`/`primary_metric`.
const COMMON_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "display_name",
    "tags",
    "experiment_name",
    "properties",
    "description",
    "compute",
    "identity",
    "services",
    "type",
    "environment_id",
    "environment_variables",
    "outputs",
    "resources",
    "queue_settings",
    "log_verbosity",
    "training_data",
    "task",
    "primary_metric",
];

/// `LogVerbosity` values as `AutoMLVerticalSchema.log_verbosity` (`camel_to_snake`) loads them.
const LOG_VERBOSITY: &[&str] = &["not_set", "debug", "info", "warning", "error", "critical"];

/// `MLTableInputSchema.mode` (`input_output_entry.py`).
const MLTABLE_MODES: &[&str] = &["download", "ro_mount", "eval_mount", "eval_download", "direct"];

/// The primary metrics a task's schema allows (`primary_metric = StringTransformedEnum(allowed_values=...,
/// casing_transform=camel_to_snake)`: `ClassificationPrimaryMetrics`, `RegressionPrimaryMetrics`,
/// `ForecastingPrimaryMetrics`, `ClassificationMultilabelPrimaryMetrics`, object detection and instance
/// segmentation's `MeanAveragePrecision`, text multilabel and NER's `Accuracy`), in snake form.
fn primary_metrics(task: &str) -> &'static [&'static str] {
    const CLASSIFICATION: &[&str] = &[
        "auc_weighted",
        "accuracy",
        "norm_macro_recall",
        "average_precision_score_weighted",
        "precision_score_weighted",
    ];
    match task {
        "classification" | "image_classification" | "text_classification" => CLASSIFICATION,
        "regression" | "forecasting" => &[
            "spearman_correlation",
            "normalized_root_mean_squared_error",
            "r2_score",
            "normalized_mean_absolute_error",
        ],
        "image_classification_multilabel" => &[
            "auc_weighted",
            "accuracy",
            "norm_macro_recall",
            "average_precision_score_weighted",
            "precision_score_weighted",
            "iou",
        ],
        "image_object_detection" | "image_instance_segmentation" => &["mean_average_precision"],
        _ => &["accuracy"],
    }
}

/// The fields one vertical's schema declares and another's may not (every other AutoML field is common:
/// [`COMMON_FIELDS`]).
const VERTICAL_FIELDS: &[&str] = &[
    "limits",
    "featurization",
    "target_column_name",
    "validation_data",
    "validation_data_size",
    "cv_split_column_names",
    "n_cross_validations",
    "weight_column_name",
    "test_data",
    "test_data_size",
    "training",
    "positive_label",
    "forecasting",
    "sweep",
    "training_parameters",
    "search_space",
];

/// Which of [`VERTICAL_FIELDS`] a task's schema has.
fn vertical_fields(task: &Task) -> Vec<&'static str> {
    let mut f = match task.vertical {
        // `AutoMLTableVerticalSchema` (+ `training` on each task schema)
        Vertical::Table => vec![
            "limits",
            "featurization",
            "target_column_name",
            "validation_data",
            "validation_data_size",
            "cv_split_column_names",
            "n_cross_validations",
            "weight_column_name",
            "test_data",
            "test_data_size",
            "training",
        ],
        // `ImageVerticalSchema` (+ `training_parameters`, `search_space` on each task schema)
        Vertical::Image => vec![
            "limits",
            "sweep",
            "target_column_name",
            "test_data",
            "test_data_size",
            "validation_data",
            "validation_data_size",
            "training_parameters",
            "search_space",
        ],
        // `NlpVerticalSchema`
        Vertical::Nlp => vec![
            "limits",
            "sweep",
            "training_parameters",
            "search_space",
            "featurization",
            "validation_data",
            "target_column_name",
        ],
    };
    match task.name {
        "classification" => f.push("positive_label"),
        "forecasting" => f.push("forecasting"),
        _ => {}
    }
    f
}

/// `AutoMLTableLimitsSchema`, `ImageLimitsSchema`, `NlpLimitsSchema`.
fn limits_fields(v: Vertical) -> &'static [&'static str] {
    match v {
        Vertical::Table => &[
            "enable_early_termination",
            "exit_score",
            "max_concurrent_trials",
            "max_cores_per_trial",
            "max_nodes",
            "max_trials",
            "timeout_minutes",
            "trial_timeout_minutes",
        ],
        Vertical::Image => &["max_concurrent_trials", "max_trials", "timeout_minutes"],
        Vertical::Nlp => &[
            "max_concurrent_trials",
            "max_trials",
            "max_nodes",
            "timeout_minutes",
            "trial_timeout_minutes",
        ],
    }
}

/// `TableFeaturizationSettingsSchema` and `NlpFeaturizationSettingsSchema` (`featurization_settings.py`).
fn featurization_fields(v: Vertical) -> &'static [&'static str] {
    match v {
        Vertical::Table => &[
            "dataset_language",
            "mode",
            "blocked_transformers",
            "column_name_and_types",
            "transformer_params",
            "enable_dnn_featurization",
        ],
        _ => &["dataset_language"],
    }
}

/// Search-space fields loaded with `INT_SEARCH_SPACE_DISTRIBUTION_FIELD` (`DumpableIntegerField(strict=True)` or
/// a choice of them): `image_model_distribution_settings.py` and `nlp_parameter_subspace.py`.
fn int_search_fields(v: Vertical) -> &'static [&'static str] {
    match v {
        Vertical::Image => &[
            "early_stopping_delay",
            "early_stopping_patience",
            "evaluation_frequency",
            "gradient_accumulation_step",
            "layers_to_freeze",
            "number_of_epochs",
            "number_of_workers",
            "random_seed",
            "step_lr_step_size",
            "training_batch_size",
            "validation_batch_size",
            "warmup_cosine_lr_warmup_epochs",
            "training_crop_size",
            "validation_crop_size",
            "validation_resize_size",
            "weighted_loss",
            "box_detections_per_image",
            "image_size",
            "max_size",
            "min_size",
        ],
        Vertical::Nlp => &[
            "gradient_accumulation_steps",
            "number_of_epochs",
            "training_batch_size",
            "validation_batch_size",
        ],
        Vertical::Table => &[],
    }
}

fn is_binding(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.trim_start().starts_with("${{"))
}

fn path(at: &[String], rest: &[&str]) -> Vec<String> {
    let mut p = at.to_vec();
    p.extend(rest.iter().map(|s| s.to_string()));
    p
}

impl Loader<'_> {
    /// The AutoML rules of a job (`node` false) or pipeline node, after the field loaders ran.
    pub(super) fn automl(&self, v: &Value, at: &[String], node: bool) -> Result<()> {
        let Some(m) = v.as_object() else { return Ok(()) };
        // `AutoMLJob._load_from_dict`: `_get_task_mapping().get(data["task"])`, an exact match on the YAML value
        // (pipeline nodes case-fold it first: `StringTransformedEnum(casing_transform=camel_to_snake)`)
        let raw = m.get("task").and_then(Value::as_str);
        let Some(task) = raw.and_then(|t| TASKS.iter().find(|k| k.name == t)) else {
            let names: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
            return Err(self.err(
                &path(at, &["task"]),
                format!(
                    "Unsupported task type: {}; use one of {} (lower case, as the SDK matches it exactly)",
                    raw.unwrap_or("None"),
                    names.join(", ")
                ),
            ));
        };
        let own = vertical_fields(task);
        for k in m.keys() {
            let k = k.as_str();
            if own.contains(&k) || COMMON_FIELDS.contains(&k) {
                continue;
            }
            let what = if VERTICAL_FIELDS.contains(&k) {
                format!("{} AutoML tasks", task.name)
            } else {
                "AutoML jobs".to_string()
            };
            return Err(self.err(
                &path(at, &[k]),
                format!(
                    "Unknown field: `{k}` is not a field of {what} (`{}`); remove it",
                    task.schema
                ),
            ));
        }
        self.one_of(m, at, "primary_metric", primary_metrics(task.name))?;
        self.one_of(m, at, "log_verbosity", LOG_VERBOSITY)?;
        // `MLTableInputSchema`: AutoML data are MLTable inputs (`type: mltable`, its modes)
        for data in ["training_data", "validation_data", "test_data"] {
            if let Some(Value::Object(d)) = m.get(data) {
                let dat = path(at, &[data]);
                self.one_of(d, &dat, "type", &["mltable"])?;
                // `mode` folds with the default `lower` transform
                let mut folded = d.clone();
                if let Some(Value::String(s)) = folded.get_mut("mode") {
                    *s = s.to_lowercase();
                }
                self.one_of(&folded, &dat, "mode", MLTABLE_MODES)?;
            }
        }
        // `target_column_name = fields.Str(required=True)` on every task schema except `TextNerSchema`
        if task.name != "text_ner" {
            self.required(v, &["target_column_name"], at, "")?;
        }
        // `ClassificationJob._load_from_dict` etc. (tabular and image tasks): `loaded_data.pop("training_data")`
        // fails with a `KeyError` when the file has none
        if !node && task.vertical != Vertical::Nlp && m.get("training_data").is_none() {
            return Err(self.err(
                &path(at, &["training_data"]),
                format!(
                    "Missing data for required field: an AutoML {} job needs `training_data` (an mltable input)",
                    task.name
                ),
            ));
        }
        self.sub_fields(m, at, "limits", limits_fields(task.vertical), task)?;
        if own.contains(&"featurization") {
            self.sub_fields(m, at, "featurization", featurization_fields(task.vertical), task)?;
        }
        if let Some(Value::Object(sweep)) = m.get("sweep") {
            self.sub_fields(m, at, "sweep", &["sampling_algorithm", "early_termination"], task)?;
            // `ImageSweepSettings.__init__` / `NlpSweepSettings.__init__`: `sampling_algorithm` is a required
            // keyword (the SDK fails with a `TypeError` without it)
            if sweep.get("sampling_algorithm").is_none_or(Value::is_null) {
                return Err(self.err(
                    &path(at, &["sweep", "sampling_algorithm"]),
                    "Missing data for required field: a sweep needs `sampling_algorithm` (random, grid or bayesian)"
                        .into(),
                ));
            }
            if let Some(et) = sweep.get("early_termination").filter(|e| e.is_object()) {
                self.early_termination(et, &path(at, &["sweep", "early_termination"]))?;
            }
        }
        self.distributions(m.get("search_space"), at)?;
        self.int_search_space(m.get("search_space"), at, task.vertical)
    }

    /// `EarlyTerminationField` (`_schema/_sweep/sweep_termination.py`): each policy schema has a required `type`
    /// (`camel_to_snake`); truncation selection needs its `truncation_percentage`.
    fn early_termination(&self, et: &Value, base: &[String]) -> Result<()> {
        self.required(et, &["type"], base, "")?;
        let ty = et.get("type").and_then(Value::as_str).unwrap_or_default();
        match ty {
            "bandit" | "median_stopping" => Ok(()),
            "truncation_selection" => self.required(et, &["truncation_percentage"], base, ""),
            other => Err(self.err(
                &path(base, &["type"]),
                format!("Value '{other}' passed is not in set ['bandit', 'median_stopping', 'truncation_selection']"),
            )),
        }
    }

    /// A search-space parameter given as a mapping is a distribution (`_schema/_sweep/search_space/*.py`): its
    /// `type` is required and each type requires its parameters (`UniformSchema`: `min_value`, `max_value`;
    /// `QUniformSchema`: and `q`; `NormalSchema`: `mu`, `sigma`; `QNormalSchema`: and `q`; `RandintSchema`:
    /// `upper`; `ChoiceSchema`: nothing more).
    fn distributions(&self, spaces: Option<&Value>, at: &[String]) -> Result<()> {
        let list: Vec<&Value> = match spaces {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => return Ok(()),
        };
        for (i, space) in list.iter().enumerate() {
            let Some(sm) = space.as_object() else { continue };
            for (param, dist) in sm {
                if !dist.is_object() {
                    continue;
                }
                let base = path(at, &["search_space", &i.to_string(), param]);
                self.required(dist, &["type"], &base, "")?;
                let ty = dist.get("type").and_then(Value::as_str).unwrap_or_default();
                let needs: &[&str] = match ty {
                    "choice" => &[],
                    "uniform" | "loguniform" => &["min_value", "max_value"],
                    "quniform" | "qloguniform" => &["min_value", "max_value", "q"],
                    "normal" | "lognormal" => &["mu", "sigma"],
                    "qnormal" | "qlognormal" => &["mu", "sigma", "q"],
                    "randint" => &["upper"],
                    other => {
                        return Err(self.err(
                            &path(&base, &["type"]),
                            format!(
                                "Value '{other}' passed is not a search-space distribution (choice, uniform, \
                                 loguniform, quniform, qloguniform, normal, lognormal, qnormal, qlognormal, randint)"
                            ),
                        ));
                    }
                };
                self.required(dist, needs, &base, "")?;
            }
        }
        Ok(())
    }

    /// `m[key]`, when a string other than a data binding, must be one of `allowed` (a `StringTransformedEnum`
    /// after the field loaders folded its case).
    fn one_of(
        &self,
        m: &serde_json::Map<String, Value>,
        at: &[String],
        key: &str,
        allowed: &[&str],
    ) -> Result<()> {
        match m.get(key) {
            Some(v @ Value::String(s)) if !is_binding(v) && !allowed.contains(&s.as_str()) => Err(self.err(
                &path(at, &[key]),
                format!("Value '{s}' passed is not in set {allowed:?}: use one of these"),
            )),
            Some(v) if !v.is_null() && !v.is_string() => Err(self.err(
                &path(at, &[key]),
                format!("Value {v} passed is not in set {allowed:?}: use one of these"),
            )),
            _ => Ok(()),
        }
    }

    /// Keys of the mapping `m[key]` must be in `allowed` (the nested schema's fields).
    fn sub_fields(
        &self,
        m: &serde_json::Map<String, Value>,
        at: &[String],
        key: &str,
        allowed: &[&str],
        task: &Task,
    ) -> Result<()> {
        if let Some(Value::Object(sub)) = m.get(key) {
            for k in sub.keys() {
                if !allowed.contains(&k.as_str()) {
                    return Err(self.err(
                        &path(at, &[key, k]),
                        format!(
                            "Unknown field: `{key}.{k}` is not a setting of {} AutoML tasks (`{}`: {}); remove it",
                            task.name,
                            task.schema,
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// `INT_SEARCH_SPACE_DISTRIBUTION_FIELD`: an integer search-space field is an integer (strict: no strings or
    /// floats), a `choice` of integers, or a distribution (`randint`, `quniform`, ...).
    fn int_search_space(&self, spaces: Option<&Value>, at: &[String], vertical: Vertical) -> Result<()> {
        let list: Vec<&Value> = match spaces {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => return Ok(()),
        };
        let int_ok = |x: &Value| x.is_i64() || x.is_u64() || is_binding(x);
        for (i, space) in list.iter().enumerate() {
            let Some(sm) = space.as_object() else { continue };
            let idx = i.to_string();
            for f in int_search_fields(vertical) {
                let Some(val) = sm.get(*f).filter(|x| !x.is_null()) else {
                    continue;
                };
                let bad = match val {
                    Value::Object(d) if d.get("type").and_then(Value::as_str) == Some("choice") => d
                        .get("values")
                        .and_then(Value::as_array)
                        .and_then(|vals| vals.iter().position(|x| !int_ok(x)))
                        .map(|j| vec!["values".to_string(), j.to_string()]),
                    Value::Object(_) => None,
                    x if int_ok(x) => None,
                    _ => Some(vec![]),
                };
                if let Some(rest) = bad {
                    let mut p = path(at, &["search_space", &idx, f]);
                    p.extend(rest);
                    return Err(self.err(
                        &p,
                        "Not a valid integer: this search-space parameter takes integers (write 15, not \"15\" or 15.0)"
                            .into(),
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

    fn load_job(mut doc: Value) -> Result<Value, String> {
        super::super::load(Kind::Job, &mut doc, Path::new("j.yml"), "")
            .map(|()| doc)
            .map_err(|e| e.to_string())
    }

    fn job(task: &str, extra: Value) -> Value {
        let mut doc = json!({"type": "automl", "task": task, "compute": "azureml:cpu", "target_column_name": "y",
            "training_data": {"type": "mltable", "path": "azureml:d:1"}});
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        doc
    }

    fn rejected(doc: Value, field: &str) {
        let e = load_job(doc).expect_err("the SDK rejects this");
        assert!(e.contains(&format!("field `{field}`")), "{e}");
    }

    #[test]
    fn task_names_match_exactly_on_jobs_and_fold_on_nodes() {
        assert!(load_job(job("classification", json!({}))).is_ok());
        rejected(job("CLASSIFICATION", json!({})), "task");
        rejected(job("Image_instance_segmentation", json!({})), "task");
        let mut node = job("Classification", json!({}));
        node.as_object_mut().unwrap().remove("training_data");
        let pipeline = json!({"type": "pipeline", "jobs": {"n": node}});
        let loaded = load_job(pipeline).unwrap();
        assert_eq!(loaded["jobs"]["n"]["task"], "classification");
    }

    #[test]
    fn fields_of_other_verticals_are_unknown() {
        let training = json!({"training": {"enable_stack_ensemble": false}});
        assert!(load_job(job("classification", training.clone())).is_ok());
        rejected(job("image_classification", training.clone()), "training");
        rejected(job("text_ner", training), "training");
        rejected(
            job(
                "image_classification_multilabel",
                json!({"featurization": {"mode": "off"}}),
            ),
            "featurization",
        );
        rejected(
            job("regression", json!({"search_space": [{"number_of_epochs": 1}]})),
            "search_space",
        );
        rejected(
            job("regression", json!({"positive_label": "1"})),
            "positive_label",
        );
        assert!(load_job(job("classification", json!({"positive_label": "1"}))).is_ok());
        assert!(
            load_job(job(
                "forecasting",
                json!({"forecasting": {"time_column_name": "t"}})
            ))
            .is_ok()
        );
    }

    #[test]
    fn limits_and_featurization_follow_the_vertical() {
        rejected(
            job("classification", json!({"limits": {"timeout": 60}})),
            "limits.timeout",
        );
        rejected(
            job("image_classification", json!({"limits": {"max_nodes": 2}})),
            "limits.max_nodes",
        );
        assert!(load_job(job("text_classification", json!({"limits": {"max_nodes": 2}}))).is_ok());
        assert!(
            load_job(job(
                "image_classification",
                json!({"limits": {"timeout_minutes": 60}})
            ))
            .is_ok()
        );
        rejected(
            job("text_classification", json!({"featurization": {"mode": "off"}})),
            "featurization.mode",
        );
        assert!(
            load_job(job(
                "text_classification",
                json!({"featurization": {"dataset_language": "eng"}})
            ))
            .is_ok()
        );
        assert!(load_job(job("classification", json!({"featurization": {"mode": "off"}}))).is_ok());
    }

    #[test]
    fn target_column_and_training_data_are_required() {
        let mut no_target = job("image_object_detection", json!({}));
        no_target.as_object_mut().unwrap().remove("target_column_name");
        rejected(no_target, "target_column_name");
        let mut ner = job("text_ner", json!({}));
        ner.as_object_mut().unwrap().remove("target_column_name");
        ner.as_object_mut().unwrap().remove("training_data");
        assert!(load_job(ner).is_ok());
        let mut no_data = job("classification", json!({}));
        no_data.as_object_mut().unwrap().remove("training_data");
        rejected(no_data, "training_data");
        let mut node = job("classification", json!({}));
        node.as_object_mut().unwrap().remove("training_data");
        assert!(load_job(json!({"type": "pipeline", "jobs": {"n": node}})).is_ok());
        let mut node = job("image_object_detection", json!({}));
        node.as_object_mut().unwrap().remove("target_column_name");
        rejected(
            json!({"type": "pipeline", "jobs": {"n": node}}),
            "jobs.n.target_column_name",
        );
    }

    #[test]
    fn closed_field_set_metrics_verbosity_and_data() {
        rejected(
            job("classification", json!({"distribution": {"type": "mpi"}})),
            "distribution",
        );
        rejected(job("classification", json!({"inputs": {"a": 1}})), "inputs");
        let common = json!({"queue_settings": {"job_tier": "spot"}, "resources": {"instance_count": 2},
            "identity": {"type": "managed"}, "display_name": "d", "environment_variables": {"A": "1"}});
        assert!(load_job(job("classification", common)).is_ok());
        rejected(
            job("regression", json!({"primary_metric": "accuracy"})),
            "primary_metric",
        );
        assert!(load_job(job("regression", json!({"primary_metric": "R2Score"}))).is_ok());
        assert!(
            load_job(job(
                "image_classification_multilabel",
                json!({"primary_metric": "IOU"})
            ))
            .is_ok()
        );
        rejected(
            job("image_object_detection", json!({"primary_metric": "iou"})),
            "primary_metric",
        );
        rejected(
            job("text_ner", json!({"primary_metric": "auc_weighted"})),
            "primary_metric",
        );
        assert!(load_job(job("classification", json!({"log_verbosity": "Debug"}))).is_ok());
        rejected(
            job("classification", json!({"log_verbosity": "verbose"})),
            "log_verbosity",
        );
        let data = |d: Value| job("classification", json!({ "training_data": d }));
        rejected(
            data(json!({"type": "uri_folder", "path": "./d"})),
            "training_data.type",
        );
        rejected(
            data(json!({"type": "mltable", "path": "./d", "mode": "mount"})),
            "training_data.mode",
        );
        assert!(
            load_job(data(
                json!({"type": "mltable", "path": "./d", "mode": "RO_MOUNT"})
            ))
            .is_ok()
        );
        assert!(load_job(data(json!({"path": "./d"}))).is_ok());
    }

    #[test]
    fn sweeps_need_a_sampling_algorithm() {
        let et = json!({"type": "bandit", "evaluation_interval": 2, "slack_factor": 0.1});
        rejected(
            job("text_ner", json!({"sweep": {"early_termination": et}})),
            "sweep.sampling_algorithm",
        );
        assert!(
            load_job(job(
                "text_ner",
                json!({"sweep": {"sampling_algorithm": "grid", "early_termination": et}})
            ))
            .is_ok()
        );
        rejected(
            job(
                "image_classification",
                json!({"sweep": {"sampling_algorithm": "grid", "max": 1}}),
            ),
            "sweep.max",
        );
    }

    #[test]
    fn distributions_and_early_termination_need_their_parameters() {
        let space =
            |v: Value| json!({"search_space": [{"model_name": "bert-base-cased", "weight_decay": v}]});
        let ok = [
            json!({"type": "uniform", "min_value": 0.01, "max_value": 0.1}),
            json!({"type": "choice"}),
            json!({"type": "qnormal", "mu": 1, "sigma": 0.1, "q": 1}),
            json!({"type": "randint", "upper": 3}),
        ];
        for v in ok {
            assert!(load_job(job("text_ner", space(v))).is_ok());
        }
        rejected(
            job("text_ner", space(json!({"min_value": 0.01, "max_value": 0.1}))),
            "search_space.0.weight_decay.type",
        );
        rejected(
            job("text_ner", space(json!({"type": "uniform", "max_value": 0.1}))),
            "search_space.0.weight_decay.min_value",
        );
        rejected(
            job("text_ner", space(json!({"type": "gaussian"}))),
            "search_space.0.weight_decay.type",
        );
        let sweep = |et: Value| json!({"sweep": {"sampling_algorithm": "random", "early_termination": et}});
        assert!(load_job(job("text_ner", sweep(json!({"type": "MedianStopping"})))).is_ok());
        rejected(
            job("text_ner", sweep(json!({"evaluation_interval": 2}))),
            "sweep.early_termination.type",
        );
        rejected(
            job("text_ner", sweep(json!({"type": "truncation_selection"}))),
            "sweep.early_termination.truncation_percentage",
        );
    }

    #[test]
    fn integer_search_space_fields_are_strict() {
        let space = |v: Value| json!({"search_space": [{"model_name": "vitb16r224", "number_of_epochs": v}]});
        assert!(load_job(job("image_classification", space(json!(15)))).is_ok());
        assert!(
            load_job(job(
                "image_classification",
                space(json!({"type": "choice", "values": [10, 15]}))
            ))
            .is_ok()
        );
        assert!(
            load_job(job(
                "image_classification",
                space(json!({"type": "randint", "upper": 20}))
            ))
            .is_ok()
        );
        rejected(
            job("image_classification", space(json!("15"))),
            "search_space.0.number_of_epochs",
        );
        rejected(
            job(
                "image_classification",
                space(json!({"type": "choice", "values": [10, "15"]})),
            ),
            "search_space.0.number_of_epochs.values.1",
        );
        rejected(
            job("text_classification", space(json!(2.5))),
            "search_space.0.number_of_epochs",
        );
        // float fields take strings and floats
        let lr = json!({"search_space": [{"learning_rate": {"type": "uniform", "min_value": 0.001, "max_value": 0.01}}]});
        assert!(load_job(job("image_classification", lr)).is_ok());
    }
}
