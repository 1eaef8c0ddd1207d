//! AutoML jobs (`type: automl`): the task details as the SDK's AutoML job classes send them
//! (`azure.ai.ml.entities._job.automl`: tabular, image and NLP verticals).

use serde_json::{Map, Value, json};

use super::job::{COMMON_JOB_FIELDS, job_inputs, job_outputs};
use super::{Ctx, camel, camel_keys, component, iso_duration, opt_str};
use crate::error::Result;

pub(crate) fn automl_job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut p = Map::new();
    let mut task = Map::new();
    let task_name = opt_str(m, "task").unwrap_or_default();
    let tabular = matches!(
        task_name.as_str(),
        "classification" | "regression" | "forecasting"
    );
    let text = task_name.starts_with("text_");
    for (k, v) in m {
        if COMMON_JOB_FIELDS.contains(&k.as_str()) {
            continue;
        }
        match k.as_str() {
            "task" => {
                task.insert(
                    "taskType".into(),
                    json!(automl_task(v.as_str().unwrap_or_default())),
                );
            }
            "primary_metric" if task_name == "text_classification_multilabel" || task_name == "text_ner" => {
                // `TextNerJob`/`TextClassificationMultilabelJob._to_rest_object` pass it to REST models
                // whose primary metric is read-only: it is not sent
            }
            "primary_metric" | "log_verbosity" => {
                let raw = v.as_str().unwrap_or_default();
                let val = if raw.eq_ignore_ascii_case("iou") {
                    "IOU".to_string()
                } else {
                    pascal(raw)
                };
                task.insert(camel(k), json!(val));
            }
            "resources" => {
                // AutoML jobs send resources in snake_case with every field present
                let mut r = Map::new();
                for f in [
                    "locations",
                    "instance_count",
                    "instance_type",
                    "shm_size",
                    "max_instance_count",
                    "docker_args",
                ] {
                    r.insert(f.into(), v.get(f).cloned().unwrap_or(Value::Null));
                }
                p.insert("resources".into(), Value::Object(r));
            }
            "queue_settings" => {
                // `AutoMLJob` subclasses pass the `QueueSettings` entity to the REST job as it is: its attributes
                // as `QueueSettingsSchema` loaded them (`StringTransformedEnum`, lower-cased), unset ones null
                let lower = |k: &str| {
                    v.get(k)
                        .and_then(Value::as_str)
                        .map_or(Value::Null, |s| json!(s.to_lowercase()))
                };
                p.insert(
                    "queueSettings".into(),
                    json!({"job_tier": lower("job_tier"), "priority": lower("priority")}),
                );
            }
            "n_cross_validations" => {
                task.insert(camel(k), auto_or_custom(v, "value"));
            }
            "limits" => {
                let mut out = Map::new();
                if let Value::Object(l) = v {
                    for (lk, lv) in l {
                        match lk.as_str() {
                            "timeout_minutes" | "trial_timeout_minutes" | "exit_score_timeout_minutes" => {
                                let key = camel(lk.trim_end_matches("_minutes"));
                                let secs = lv.as_f64().unwrap_or(0.0) * 60.0;
                                out.insert(key, json!(iso_duration(secs)));
                            }
                            _ => {
                                out.insert(camel(lk), lv.clone());
                            }
                        }
                    }
                }
                if tabular {
                    out.entry("sweepConcurrentTrials").or_insert(json!(0));
                    out.entry("sweepTrials").or_insert(json!(0));
                }
                if text {
                    out.entry("maxTrials").or_insert(json!(1));
                    out.entry("maxNodes").or_insert(json!(1));
                }
                task.insert("limitSettings".into(), Value::Object(out));
            }
            "featurization" => {
                let f = if tabular {
                    tabular_featurization(ctx, v)?
                } else {
                    camel_keys(v)
                };
                task.insert("featurizationSettings".into(), f);
            }
            "training" => {
                let mut out = Map::new();
                if let Value::Object(t) = v {
                    for (tk, tv) in t {
                        let val = if tk.ends_with("_training_algorithms") {
                            match tv {
                                Value::Array(a) => {
                                    let mut names = Vec::new();
                                    for (i, x) in a.iter().enumerate() {
                                        let name = x.as_str().unwrap_or_default();
                                        let at = i.to_string();
                                        names.push(json!(training_algorithm(&task_name, name).ok_or_else(
                                            || {
                                                ctx.err(
                                                    &["training", tk, &at],
                                                    format!(
                                                        "Value '{name}' passed is not in set {:?}",
                                                        algorithms_of(&task_name)
                                                            .iter()
                                                            .map(|a| crate::load::camel_to_snake(a))
                                                            .collect::<Vec<_>>()
                                                    ),
                                                )
                                            }
                                        )?));
                                    }
                                    Value::Array(names)
                                }
                                other => other.clone(),
                            }
                        } else {
                            tv.clone()
                        };
                        out.insert(camel(tk), val);
                    }
                }
                task.insert("trainingSettings".into(), Value::Object(out));
            }
            "training_parameters" if text => {
                // `NlpFixedParameters._to_rest_object`: every parameter, null when not set
                task.insert("fixedParameters".into(), nlp_all_keys(&camel_top(v)));
            }
            "training_parameters" => {
                task.insert("modelSettings".into(), camel_keys(v));
            }
            "sweep" => {
                let mut out = Map::new();
                if let Value::Object(sw) = v {
                    for (sk, sv) in sw {
                        if sk == "early_termination" {
                            let et = match sv {
                                Value::Object(e) => super::sweep::early_termination(e),
                                _ => Map::new(),
                            };
                            out.insert("earlyTermination".into(), Value::Object(et));
                        } else {
                            out.insert(camel(sk), sv.clone());
                        }
                    }
                }
                task.insert("sweepSettings".into(), Value::Object(out));
            }
            "search_space" => {
                let mut spaces: Vec<Value> = match v {
                    Value::Array(a) => a
                        .iter()
                        .map(|s| camel_top(&component::search_space_exprs(s)))
                        .collect(),
                    other => vec![camel_top(&component::search_space_exprs(other))],
                };
                if text {
                    // `NlpSearchSpace._to_rest_object`: every parameter, null when not searched
                    spaces = spaces.iter().map(nlp_all_keys).collect();
                }
                task.insert("searchSpace".into(), Value::Array(spaces));
            }
            "forecasting" => {
                let mut out = Map::new();
                if let Value::Object(f) = v {
                    for (fk, fv) in f {
                        // `ForecastingSettingsSchema`: these are `UnionField([StringTransformedEnum(auto),
                        // fields.Int()])` (`target_lags` also a list of ints), so "20" loads as 20
                        let val = match fk.as_str() {
                            "forecast_horizon" | "target_rolling_window_size" | "seasonality" => {
                                auto_or_custom(&marshmallow_int(fv), "value")
                            }
                            "target_lags" => {
                                let lags = match fv {
                                    Value::Array(a) => Value::Array(a.iter().map(marshmallow_int).collect()),
                                    other => marshmallow_int(other),
                                };
                                auto_or_custom(&lags, "values")
                            }
                            "cv_step_size" => marshmallow_int(fv),
                            _ => fv.clone(),
                        };
                        out.insert(camel(fk), val);
                    }
                }
                task.insert("forecastingSettings".into(), Value::Object(out));
            }
            _ if k.ends_with("_data") => {
                let data = job_inputs(ctx, Some(&json!({ k.clone(): v })), "")?;
                if let Some(d) = data.get(k) {
                    let mut d = d.clone();
                    // without a `type` the input is resolved (and uploaded) as the default `uri_folder`, then
                    // sent as the task's MLTable (`MLTableInputSchema`'s type)
                    if v.is_object() && v.get("type").is_none_or(Value::is_null) {
                        d["jobInputType"] = json!("mltable");
                    }
                    task.insert(camel(k), d);
                }
            }
            _ => {
                task.insert(camel(k), camel_keys(v));
            }
        }
    }
    // without `limits` the vertical's defaults are sent (`AutoMLNLPJob`: `limits or NlpLimitSettings()`, whose
    // max_trials and max_nodes default to 1; `AutoMLImage`: `limits or ImageLimitSettings()`, all unset)
    if !m.contains_key("limits") {
        if text {
            task.insert("limitSettings".into(), json!({"maxTrials": 1, "maxNodes": 1}));
        } else if task_name.starts_with("image_") {
            task.insert("limitSettings".into(), json!({}));
        }
    }
    task.entry("logVerbosity").or_insert(json!("Info"));
    p.insert("taskDetails".into(), Value::Object(task));
    p.insert("outputs".into(), job_outputs(ctx, m.get("outputs"))?);
    p.insert("jobType".into(), json!("AutoML"));
    Ok(p)
}

/// `services` of an AutoML job: `ClassificationJob._to_rest_object` (and the other task jobs) pass the
/// service entities to the REST job as they are, so each is sent as the entity's attributes (`JobServiceBase`:
/// `endpoint`, `type`, `nodes`, `port`, `properties`, plus `ssh_public_keys` or `log_dir`; the read-only
/// `status` left out), unset ones as null. The entity's `type` is its own (`ssh`, `tensor_board`, `vs_code`,
/// `jupyter_lab`); without one, the strict union picks the schema whose fields fit.
pub(crate) fn automl_services(v: &Value) -> Value {
    let mut out = Map::new();
    let Some(m) = v.as_object() else {
        return v.clone();
    };
    for (name, svc) in m {
        let sm = svc.as_object().cloned().unwrap_or_default();
        let ty = match sm.get("type").and_then(Value::as_str) {
            Some(t) => match t.to_ascii_lowercase().replace('-', "_").as_str() {
                "ssh" => Some("ssh"),
                "tensor_board" | "tensorboard" => Some("tensor_board"),
                "vs_code" | "vscode" => Some("vs_code"),
                "jupyter_lab" | "jupyterlab" => Some("jupyter_lab"),
                _ => None,
            },
            None if sm.contains_key("log_dir") => Some("tensor_board"),
            None if sm.contains_key("ssh_public_keys") => Some("ssh"),
            None => None,
        };
        let mut o = Map::new();
        o.insert("endpoint".into(), Value::Null);
        o.insert("type".into(), ty.map_or(Value::Null, |t| json!(t)));
        for k in ["nodes", "port", "properties"] {
            o.insert(k.into(), sm.get(k).cloned().unwrap_or(Value::Null));
        }
        match ty {
            Some("ssh") => {
                o.insert(
                    "ssh_public_keys".into(),
                    sm.get("ssh_public_keys").cloned().unwrap_or(Value::Null),
                );
            }
            Some("tensor_board") => {
                o.insert(
                    "log_dir".into(),
                    sm.get("log_dir").cloned().unwrap_or(Value::Null),
                );
            }
            _ => {}
        }
        out.insert(name.clone(), Value::Object(o));
    }
    Value::Object(out)
}

/// The NLP parameter set (`NlpFixedParameters`/`NlpSearchSpace._to_rest_object` write all nine keys).
fn nlp_all_keys(v: &Value) -> Value {
    const KEYS: [&str; 9] = [
        "gradientAccumulationSteps",
        "learningRate",
        "learningRateScheduler",
        "modelName",
        "numberOfEpochs",
        "trainingBatchSize",
        "validationBatchSize",
        "warmupRatio",
        "weightDecay",
    ];
    let mut out = v.as_object().cloned().unwrap_or_default();
    for k in KEYS {
        out.entry(k).or_insert(Value::Null);
    }
    Value::Object(out)
}

/// Finds the REST enum value whose `camel_to_snake` form equals that of `name` (how the SDK's
/// `StringTransformedEnum(casing_transform=camel_to_snake)` fields and `Enum[camel_to_snake(x).upper()]` lookups
/// match YAML values).
fn snake_enum(values: &[&str], name: &str) -> Option<String> {
    let snake = crate::load::camel_to_snake(name);
    values
        .iter()
        .find(|v| crate::load::camel_to_snake(v) == snake)
        .map(|v| v.to_string())
}

/// Featurization of a tabular AutoML task, as `TableFeaturizationSettingsSchema` loads it and
/// `TabularFeaturizationSettings._to_rest_object` sends it: `transformer_params` keys are
/// `AutoMLTransformerParameterKeys` values (`imputer` → `Imputer`), each column transformer's `parameters`
/// values load as `UnionField([Float(), Str()])` (numbers, and strings that parse as numbers, become floats),
/// `blocked_transformers` are `BlockedTransformers` values, and `transformerParams` is always sent.
fn tabular_featurization(ctx: &Ctx<'_>, v: &Value) -> Result<Value> {
    const PARAM_KEYS: &[&str] = &["Imputer", "TfIdf", "HashOneHotEncoder"];
    const BLOCKED: &[&str] = &[
        "TextTargetEncoder",
        "OneHotEncoder",
        "CatTargetEncoder",
        "TfIdf",
        "WoETargetEncoder",
        "LabelEncoder",
        "WordEmbedding",
        "NaiveBayes",
        "CountVectorizer",
        "HashOneHotEncoder",
    ];
    let Value::Object(m) = v else {
        return Ok(camel_keys(v));
    };
    let mut out = Map::new();
    for (k, val) in m {
        match k.as_str() {
            "transformer_params" => {
                let mut params = Map::new();
                if let Value::Object(tp) = val {
                    for (name, list) in tp {
                        let key = snake_enum(PARAM_KEYS, name).ok_or_else(|| {
                            ctx.err(
                                &["featurization", "transformer_params", name],
                                format!("Value '{name}' passed is not in set ['imputer', 'tf_idf', 'hash_one_hot_encoder']"),
                            )
                        })?;
                        let items = match list {
                            Value::Array(a) => a.iter().map(column_transformer).collect(),
                            other => vec![other.clone()],
                        };
                        params.insert(key, Value::Array(items));
                    }
                }
                out.insert("transformerParams".into(), Value::Object(params));
            }
            "blocked_transformers" => {
                let mut names = Vec::new();
                if let Value::Array(a) = val {
                    for (i, b) in a.iter().enumerate() {
                        let name = b.as_str().unwrap_or_default();
                        let at = i.to_string();
                        names.push(json!(snake_enum(BLOCKED, name).ok_or_else(|| ctx.err(
                            &["featurization", "blocked_transformers", &at],
                            format!("Value '{name}' passed is not in set {BLOCKED:?}")
                        ))?));
                    }
                }
                out.insert("blockedTransformers".into(), Value::Array(names));
            }
            "column_name_and_types" => {
                out.insert("columnNameAndTypes".into(), val.clone());
            }
            _ => {
                out.insert(camel(k), camel_keys(val));
            }
        }
    }
    out.entry("transformerParams").or_insert(json!({}));
    // `TableFeaturizationSettingsSchema.mode`: `load_default=AutoMLConstants.AUTO`
    out.entry("mode").or_insert(json!("auto"));
    Ok(Value::Object(out))
}

/// One `ColumnTransformer` (`ColumnTransformerSchema`: `fields`, `parameters` with float-or-string values).
fn column_transformer(v: &Value) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in m {
        let val = match (k.as_str(), val) {
            ("parameters", Value::Object(p)) => Value::Object(
                p.iter()
                    .map(|(pk, pv)| {
                        let f = match pv {
                            Value::Number(n) => n.as_f64(),
                            Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                            _ => None,
                        };
                        (
                            pk.clone(),
                            f.and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                                .unwrap_or_else(|| pv.clone()),
                        )
                    })
                    .collect(),
            ),
            _ => val.clone(),
        };
        out.insert(k.clone(), val);
    }
    Value::Object(out)
}

/// REST names of the models an AutoML tabular task trains (`ClassificationModels`, `ForecastingModels`,
/// `RegressionModels` of the SDK's REST client), which the training settings' algorithm lists hold.
fn algorithms_of(task: &str) -> &'static [&'static str] {
    match task {
        "classification" => &[
            "LogisticRegression",
            "SGD",
            "MultinomialNaiveBayes",
            "BernoulliNaiveBayes",
            "SVM",
            "LinearSVM",
            "KNN",
            "DecisionTree",
            "RandomForest",
            "ExtremeRandomTrees",
            "LightGBM",
            "GradientBoosting",
            "XGBoostClassifier",
        ],
        "forecasting" => &[
            "AutoArima",
            "Prophet",
            "Naive",
            "SeasonalNaive",
            "Average",
            "SeasonalAverage",
            "ExponentialSmoothing",
            "Arimax",
            "TCNForecaster",
            "ElasticNet",
            "GradientBoosting",
            "DecisionTree",
            "KNN",
            "LassoLars",
            "SGD",
            "RandomForest",
            "ExtremeRandomTrees",
            "LightGBM",
            "XGBoostRegressor",
        ],
        "regression" => &[
            "ElasticNet",
            "GradientBoosting",
            "DecisionTree",
            "KNN",
            "LassoLars",
            "SGD",
            "RandomForest",
            "ExtremeRandomTrees",
            "LightGBM",
            "XGBoostRegressor",
        ],
        _ => &[],
    }
}

/// An algorithm name as the SDK sends it: the schema (`ClassificationTrainingSettingsSchema` etc.) loads the
/// YAML value with `StringTransformedEnum(casing_transform=camel_to_snake)` over the REST enum, so `LightGBM`,
/// `light_gbm` and `lightGBM` all name `LightGBM`, and `lightgbm` names nothing (rejected).
fn training_algorithm(task: &str, name: &str) -> Option<String> {
    snake_enum(algorithms_of(task), name)
}

/// `auto` → `{"mode": "Auto"}`; a value → `{"<key>": v, "mode": "Custom"}`.
/// `fields.Int()` on load: a number becomes `int(v)` (truncated), a string of an integer an int; anything else
/// (`auto`) stays as written.
fn marshmallow_int(v: &Value) -> Value {
    match v {
        Value::String(s) => s.trim().parse::<i64>().map_or_else(|_| v.clone(), |n| json!(n)),
        Value::Number(n) if n.is_f64() => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map_or_else(|| v.clone(), |f| json!(f.trunc() as i64)),
        _ => v.clone(),
    }
}

fn auto_or_custom(v: &Value, key: &str) -> Value {
    match v {
        Value::String(s) if s.eq_ignore_ascii_case("auto") => json!({"mode": "Auto"}),
        Value::Number(_) if key == "values" => json!({"values": [v], "mode": "Custom"}),
        other => json!({ key: other, "mode": "Custom" }),
    }
}

/// snake_case → PascalCase (`mean_average_precision` → `MeanAveragePrecision`).
fn pascal(s: &str) -> String {
    s.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn camel_top(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (camel(k), v.clone())).collect()),
        other => other.clone(),
    }
}

fn automl_task(t: &str) -> String {
    match t {
        "classification" => "Classification",
        "regression" => "Regression",
        "forecasting" => "Forecasting",
        "image_classification" => "ImageClassification",
        "image_classification_multilabel" => "ImageClassificationMultilabel",
        "image_object_detection" => "ImageObjectDetection",
        "image_instance_segmentation" => "ImageInstanceSegmentation",
        "text_classification" => "TextClassification",
        "text_classification_multilabel" => "TextClassificationMultilabel",
        "text_ner" => "TextNER",
        other => other,
    }
    .to_string()
}
