//! Sweep jobs (`type: sweep`) and the sweep settings the SDK's schemas require of sweep jobs and sweep pipeline
//! nodes (`_schema/_sweep/parameterized_sweep.py`, `sweep_job.py`, `search_space/*.py`).

use serde_json::{Map, Value, json};

use super::job::{COMMON_JOB_FIELDS, command_props, job_inputs, job_outputs, timeout_value};
use super::{Ctx, camel, camel_keys, opt_str};
use crate::error::Result;

pub(crate) fn sweep_job(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut allowed = COMMON_JOB_FIELDS.to_vec();
    allowed.extend([
        "trial",
        "search_space",
        "sampling_algorithm",
        "objective",
        "limits",
        "early_termination",
        "queue_settings",
        "resources",
    ]);
    ctx.check_fields(m, &[], &allowed)?;
    check_sweep(ctx, m, &[], true)?;
    let mut p = Map::new();
    let trial = m
        .get("trial")
        .and_then(Value::as_object)
        .ok_or_else(|| ctx.err(&["trial"], "Missing data for required field."))?;
    let mut t = Map::new();
    let tp = command_props(ctx, trial, "trial")?;
    for (k, v) in tp {
        t.insert(k, v);
    }
    // `SweepJob._to_rest_object`: the sweep's own `resources`, else the trial's
    if let Some(r) = m.get("resources").filter(|v| v.is_object()) {
        p.insert("resources".into(), super::job::resources(r));
    } else if let Some(r) = t.get("resources") {
        p.insert("resources".into(), r.clone());
    }
    p.insert("trial".into(), Value::Object(t));
    let mut ss = Map::new();
    if let Some(Value::Object(s)) = m.get("search_space") {
        for (k, v) in s {
            ss.insert(k.clone(), search_expr(v));
        }
    }
    p.insert("searchSpace".into(), Value::Object(ss));
    let sa = match m.get("sampling_algorithm") {
        Some(Value::String(s)) => json!({"samplingAlgorithmType": titlecase(s)}),
        Some(Value::Object(o)) => {
            let mut out = Map::new();
            for (k, v) in o {
                if k == "type" {
                    out.insert(
                        "samplingAlgorithmType".into(),
                        json!(titlecase(v.as_str().unwrap_or_default())),
                    );
                } else {
                    out.insert(camel(k), v.clone());
                }
            }
            Value::Object(out)
        }
        // `SweepJob._to_rest_object`: no sampling algorithm is sent when none is given
        _ => Value::Null,
    };
    if !sa.is_null() {
        p.insert("samplingAlgorithm".into(), sa);
    }
    if let Some(o) = m.get("objective") {
        p.insert("objective".into(), camel_keys(o));
    }
    if let Some(Value::Object(l)) = m.get("limits") {
        let mut lim = Map::new();
        for (k, v) in l {
            lim.insert(
                camel(k),
                if k.ends_with("timeout") {
                    timeout_value(v)
                } else {
                    v.clone()
                },
            );
        }
        lim.insert("jobLimitsType".into(), json!("Sweep"));
        p.insert("limits".into(), Value::Object(lim));
    }
    if let Some(Value::Object(e)) = m.get("early_termination") {
        p.insert("earlyTermination".into(), Value::Object(early_termination(e)));
    }
    // `SweepJob._to_rest_object`: `QueueSettings._to_rest_object` as for command jobs
    if let Some(q) = m.get("queue_settings").filter(|v| !v.is_null()) {
        p.insert("queueSettings".into(), super::queue_settings(q));
    }
    p.insert("inputs".into(), job_inputs(ctx, m.get("inputs"), "")?);
    p.insert("outputs".into(), job_outputs(ctx, m.get("outputs"))?);
    p.insert("jobType".into(), json!("Sweep"));
    Ok(p)
}

fn titlecase(s: &str) -> String {
    match s {
        "random" => "Random".into(),
        "grid" => "Grid".into(),
        "bayesian" => "Bayesian".into(),
        other => other.to_string(),
    }
}

fn search_expr(v: &Value) -> Value {
    let Some(m) = v.as_object() else {
        return v.clone();
    };
    let ty = opt_str(m, "type").unwrap_or_default();
    let num = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    match ty.as_str() {
        // `Choice._to_rest_object`: `[type, [values]]`, an empty list when `values` is not given
        "choice" | "randint" if ty == "choice" || m.contains_key("values") => {
            let vals: Vec<Value> = m
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(search_expr).collect())
                .unwrap_or_default();
            json!([ty, [vals]])
        }
        "randint" => json!([ty, [num("upper")]]),
        "uniform" | "loguniform" => json!([ty, [num("min_value"), num("max_value")]]),
        "normal" | "lognormal" => json!([ty, [num("mu"), num("sigma")]]),
        "quniform" | "qloguniform" => json!([ty, [num("min_value"), num("max_value"), num("q")]]),
        "qnormal" | "qlognormal" => json!([ty, [num("mu"), num("sigma"), num("q")]]),
        _ => v.clone(),
    }
}

/// Parameters of each search space type (`_schema/_sweep/search_space/*.py`: `ChoiceSchema`, `RandintSchema`,
/// `UniformSchema`, `QUniformSchema`, `NormalSchema`, `QNormalSchema`): the required ones, then optional ones. The
/// schemas raise on other fields.
const SEARCH_SPACES: &[(&[&str], &[&str], &[&str])] = &[
    (&["choice"], &[], &["values"]),
    (&["randint"], &["upper"], &[]),
    (&["uniform", "loguniform"], &["min_value", "max_value"], &[]),
    (
        &["quniform", "qloguniform"],
        &["min_value", "max_value", "q"],
        &[],
    ),
    (&["normal", "lognormal"], &["mu", "sigma"], &[]),
    (&["qnormal", "qlognormal"], &["mu", "sigma", "q"], &[]),
];

/// `ParameterizedSweepSchema` (standalone sweep jobs and sweep pipeline nodes): `objective` (`SweepObjectiveSchema`:
/// `goal` and `primary_metric` required) and `limits` (`SweepJobLimitsSchema`: `max_total_trials` required) are
/// required, and each `search_space` entry must load as one of the search space schemas. A standalone sweep job also
/// needs a `search_space`: `SweepJob._to_rest_object` reads it unconditionally and the SDK fails without one.
pub(crate) fn check_sweep<'a>(
    ctx: &Ctx<'_>,
    m: &'a Map<String, Value>,
    at: &[&'a str],
    standalone: bool,
) -> Result<()> {
    fn path<'a>(at: &[&'a str], k: &[&'a str]) -> Vec<&'a str> {
        [at, k].concat()
    }
    let f = |k: &[&'a str]| path(at, k);
    let missing =
        |k: &[&'a str], what: &str| ctx.err(&f(k), format!("Missing data for required field. {what}"));
    match m.get("objective") {
        Some(Value::Object(o)) => {
            for (k, what) in [
                ("goal", "Give `goal: maximize` or `goal: minimize`"),
                (
                    "primary_metric",
                    "Give the metric the trials log, e.g. `primary_metric: accuracy`",
                ),
            ] {
                if o.get(k).is_none_or(Value::is_null) {
                    return Err(missing(&["objective", k], what));
                }
            }
        }
        Some(v) if v.is_string() => {}
        _ => {
            return Err(missing(
                &["objective"],
                "Give `objective: {goal: maximize, primary_metric: <metric>}`",
            ));
        }
    }
    match m.get("limits") {
        Some(Value::Object(l)) => {
            if l.get("max_total_trials").is_none_or(Value::is_null) {
                return Err(missing(
                    &["limits", "max_total_trials"],
                    "Give the number of trials, e.g. `max_total_trials: 20`",
                ));
            }
        }
        Some(v) if v.is_string() => {}
        _ => return Err(missing(&["limits"], "Give `limits: {max_total_trials: <n>}`")),
    }
    let space = match m.get("search_space") {
        Some(Value::Object(s)) => s,
        None | Some(Value::Null) if standalone => {
            return Err(missing(
                &["search_space"],
                "Give the hyperparameters to sweep over",
            ));
        }
        _ => return Ok(()),
    };
    for (name, entry) in space {
        let Value::Object(e) = entry else { continue };
        let at_entry = [&["search_space", name.as_str()][..]].concat();
        let ty = match e.get("type") {
            Some(Value::String(t)) => t.as_str(),
            _ => {
                return Err(missing(
                    &[&at_entry[..], &["type"]].concat(),
                    "Give the distribution, e.g. `type: choice` or `type: uniform`",
                ));
            }
        };
        let Some((_, required, optional)) = SEARCH_SPACES.iter().find(|(types, _, _)| types.contains(&ty))
        else {
            return Err(ctx.err(
                &f(&[&at_entry[..], &["type"]].concat()),
                format!(
                    "Value '{ty}' passed is not a search space type (choice, randint, uniform, loguniform, quniform, \
                     qloguniform, normal, lognormal, qnormal, qlognormal)"
                ),
            ));
        };
        for k in *required {
            if e.get(*k).is_none_or(Value::is_null) {
                return Err(missing(
                    &[&at_entry[..], &[*k]].concat(),
                    &format!("A `{ty}` search space needs {}", required.join(", ")),
                ));
            }
        }
        if let Some(k) = e.keys().find(|k| {
            k.as_str() != "type" && !required.contains(&k.as_str()) && !optional.contains(&k.as_str())
        }) {
            return Err(ctx.err(
                &f(&[&at_entry[..], &[k.as_str()]].concat()),
                format!(
                    "Unknown field. A `{ty}` search space takes {}",
                    [*required, *optional].concat().join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// An early termination policy in its REST form. The schema's `post_load` builds `BanditPolicy`,
/// `MedianStoppingPolicy` or `TruncationSelectionPolicy` (`entities/_job/sweep/early_termination_policy.py`),
/// whose `__init__` defaults `delay_evaluation` to 0 and `evaluation_interval` to 0 (1 for median stopping), and
/// `BanditPolicy` `slack_amount`/`slack_factor` to 0; `_to_rest_object` sends them all.
pub(crate) fn early_termination(e: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in e {
        if k == "type" {
            let t = match v.as_str().unwrap_or_default() {
                "bandit" => "Bandit",
                "median_stopping" => "MedianStopping",
                "truncation_selection" => "TruncationSelection",
                o => o,
            };
            out.insert("policyType".into(), json!(t));
        } else {
            out.insert(camel(k), v.clone());
        }
    }
    let ty = e.get("type").and_then(Value::as_str).unwrap_or_default();
    let interval = match ty {
        "bandit" | "truncation_selection" => Some(0),
        "median_stopping" => Some(1),
        _ => None,
    };
    if let Some(interval) = interval {
        out.entry("delayEvaluation").or_insert(json!(0));
        out.entry("evaluationInterval").or_insert(json!(interval));
    }
    if ty == "bandit" {
        out.entry("slackAmount").or_insert(json!(0));
        out.entry("slackFactor").or_insert(json!(0));
    }
    out
}
