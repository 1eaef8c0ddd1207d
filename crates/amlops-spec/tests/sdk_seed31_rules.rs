//! Rules ported from the SDK (azure-ai-ml 1.35.2) after the seed-31 differential run found bodies that differed:
//! a pipeline node without `component` or `command`, a sweep `choice` without `values`, a node's distribution from
//! its component, boolean component input defaults and `is_deterministic` given as strings, early termination
//! defaults of AutoML nodes' sweeps and `queue_settings` of sweep jobs.

use crate::support::fixed;

use std::fs;
use std::path::Path;

use amlops_spec::{AssetType, Kind, PlanOptions, Resolver, RestRequest, Upload, UploadOutcome, plan_file};
use serde_json::{Value, json};

struct Fixed;

impl Resolver for Fixed {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Ok(fixed::upload_outcome(upload))
    }
    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok("7".into())
    }
}

/// Writes `files` (relative path, text) into a temp folder and renders the first one as `kind`.
fn render(kind: Kind, files: &[(&str, &str)]) -> Result<Vec<RestRequest>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (rel, text) in files {
        fs::write(dir.path().join(rel), text).map_err(|e| e.to_string())?;
    }
    fs::create_dir_all(dir.path().join("src")).map_err(|e| e.to_string())?;
    fs::write(dir.path().join("src/main.py"), "print(1)").map_err(|e| e.to_string())?;
    let opts = PlanOptions {
        kind: Some(kind),
        job_name: Some("run_1".into()),
        ..PlanOptions::default()
    };
    plan_file(Path::new(&dir.path().join(files[0].0)), opts)
        .and_then(|p| p.render(&mut Fixed))
        .map_err(|e| e.to_string())
}

fn main_props(reqs: &[RestRequest]) -> &Value {
    &reqs.last().expect("a main request").body["properties"]
}

/// The component spec of the first component request.
fn first_component_spec(reqs: &[RestRequest]) -> &Value {
    &reqs
        .iter()
        .find(|r| r.path.contains("/components/"))
        .expect("a component request")
        .body["properties"]["componentSpec"]
}

const SWEEP: &str = "type: sweep
trial:
  command: python main.py --lr ${{search_space.lr}}
  code: src
  environment: azureml:env:1
compute: azureml:cpu
sampling_algorithm: random
search_space:
  lr:
    type: choice
    values: [0.1, 0.2]
  B:
    type: choice
objective:
  goal: maximize
  primary_metric: acc
limits:
  max_total_trials: 4
";

#[test]
fn a_choice_without_values_is_sent_with_an_empty_list() {
    // `Choice._to_rest_object`: `[type, [values or []]]`
    let reqs = render(Kind::Job, &[("job.yml", SWEEP)]).expect("renders");
    let ss = &main_props(&reqs)["searchSpace"];
    assert_eq!(ss["B"], json!(["choice", [[]]]));
    assert_eq!(ss["lr"], json!(["choice", [[0.1, 0.2]]]));
}

#[test]
fn sweep_jobs_send_queue_settings_as_command_jobs_do() {
    // `QueueSettings._to_rest_object`: tiers title-cased, priorities as numbers, unknown ones dropped
    let without = render(Kind::Job, &[("job.yml", SWEEP)]).expect("renders");
    assert!(main_props(&without).get("queueSettings").is_none());
    let text = format!("{SWEEP}queue_settings:\n  job_tier: spot\n  priority: high\n");
    let reqs = render(Kind::Job, &[("job.yml", &text)]).expect("renders");
    assert_eq!(
        main_props(&reqs)["queueSettings"],
        json!({"jobTier": "Spot", "priority": 3})
    );
    let cmd = "command: python main.py\ncode: src\nenvironment: azureml:env:1\ncompute: azureml:cpu\n\
               queue_settings:\n  job_tier: Premium\n";
    let reqs = render(Kind::Job, &[("job.yml", cmd)]).expect("renders");
    assert_eq!(main_props(&reqs)["queueSettings"], json!({"jobTier": "Premium"}));
}

const COMPONENT: &str = "name: c
type: command
command: python main.py
code: src
environment: azureml:env:1
resources:
  instance_count: 2
distribution:
  type: pytorch
  process_count_per_instance: 2
inputs:
  flip:
    type: boolean
    default: 'false'
  on:
    type: boolean
    default: true
";

#[test]
fn a_node_without_distribution_takes_its_components() {
    // `Command.__init__`: `self.distribution = self.distribution or self.component.distribution`
    let pipeline =
        "type: pipeline\njobs:\n  a:\n    type: command\n    component: ./c.yml\n    compute: azureml:gpu\n";
    let reqs = render(Kind::Job, &[("p.yml", pipeline), ("c.yml", COMPONENT)]).expect("renders");
    assert_eq!(
        main_props(&reqs)["jobs"]["a"]["distribution"],
        json!({"distribution_type": "PyTorch", "process_count_per_instance": 2})
    );
    // the node's own distribution wins
    let own = format!("{pipeline}    distribution:\n      type: mpi\n");
    let reqs = render(Kind::Job, &[("p.yml", &own), ("c.yml", COMPONENT)]).expect("renders");
    assert_eq!(
        main_props(&reqs)["jobs"]["a"]["distribution"],
        json!({"distribution_type": "Mpi"})
    );
}

#[test]
fn boolean_input_defaults_are_sent_as_python_writes_bools() {
    // `Input._parse`: `str(val).lower() == "true"`, then `str(bool)`
    let reqs = render(Kind::Component, &[("c.yml", COMPONENT)]).expect("renders");
    let spec = first_component_spec(&reqs);
    assert_eq!(spec["inputs"]["flip"]["default"], json!("False"));
    assert_eq!(spec["inputs"]["on"]["default"], json!("True"));
}

#[test]
fn is_deterministic_given_as_a_string_loads_as_a_boolean() {
    // `ComponentSchema.is_deterministic = fields.Bool()`
    let text = format!("{COMPONENT}is_deterministic: 'false'\n");
    let reqs = render(Kind::Component, &[("c.yml", &text)]).expect("renders");
    assert_eq!(first_component_spec(&reqs)["is_deterministic"], json!(false));
    let bad = format!("{COMPONENT}is_deterministic: maybe\n");
    let err = render(Kind::Component, &[("c.yml", &bad)]).expect_err("not a boolean");
    assert!(
        err.contains("is_deterministic") && err.contains("Not a valid boolean"),
        "{err}"
    );
}

#[test]
fn automl_node_sweeps_send_the_early_termination_defaults() {
    // `BanditPolicy.__init__` defaults dumped by `BanditPolicySchema`
    let pipeline = "type: pipeline
jobs:
  od:
    type: automl
    task: image_object_detection
    compute: azureml:gpu
    training_data: azureml:train:1
    validation_data: azureml:valid:1
    target_column_name: label
    primary_metric: mean_average_precision
    limits:
      max_trials: 2
    sweep:
      sampling_algorithm: random
      early_termination:
        type: bandit
        evaluation_interval: 2
        slack_factor: 0.2
";
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]).expect("renders");
    assert_eq!(
        main_props(&reqs)["jobs"]["od"]["sweep"]["early_termination"],
        json!({"type": "bandit", "evaluation_interval": 2, "slack_factor": 0.2, "delay_evaluation": 0,
               "slack_amount": 0.0})
    );
}

#[test]
fn a_node_without_component_or_command_is_an_inline_parallel_node() {
    // `PipelineJobsField`: `PipelineParallelJobSchema` has no required field and takes the node, unless a field
    // `ParallelJob.__init__` does not take fails its `post_load`
    let pipeline = "type: pipeline
jobs:
  prep:
    command: echo
    environment: azureml:env:1
    compute: azureml:cpu
    outputs:
      data:
        type: uri_file
  eval:
    compute: azureml:cpu
    inputs:
      task: qa
      data: ${{parent.jobs.prep.outputs.data}}
";
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]).expect("renders");
    let node = &main_props(&reqs)["jobs"]["eval"];
    assert_eq!(node["type"], json!("parallel"));
    assert_eq!(node["mini_batch_size"], json!(0));
    let spec = reqs
        .iter()
        .map(|r| &r.body["properties"]["componentSpec"])
        .find(|s| s["type"] == json!("parallel"))
        .expect("the node's anonymous parallel component");
    // a binding takes the type of the output it binds to
    assert_eq!(spec["inputs"]["data"], json!({"type": "uri_file"}));
    assert_eq!(spec["inputs"]["task"], json!({"type": "string", "default": "qa"}));

    let with_env = pipeline.replace("  eval:\n", "  eval:\n    environment: azureml:env:1\n");
    let err = render(Kind::Job, &[("p.yml", &with_env)]).expect_err("the SDK refuses it");
    assert!(err.contains("jobs.eval"), "{err}");
}
