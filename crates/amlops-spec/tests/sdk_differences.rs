//! Rules ported from the SDK (azure-ai-ml 1.35.2) after the differential tool found bodies that differed:
//! anonymous data and environments, typed values the SDK's schemas cast or keep, fields it drops.

use crate::support::fixed;

use std::fs;
use std::path::Path;

use amlops_spec::{
    AssetType, Kind, PlanOptions, Resolver, RestRequest, Scope, Upload, UploadOutcome, plan_file,
};
use serde_json::{Value, json};

/// Answers uploads with fixed names and anonymous assets with `anon-1`, `anon-2`, ...
#[derive(Default)]
struct Fixed {
    anonymous: Vec<AssetType>,
}

impl Resolver for Fixed {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Ok(fixed::upload_outcome(upload))
    }
    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok("7".into())
    }
    fn anonymous_name(&mut self, asset: AssetType) -> String {
        self.anonymous.push(asset);
        format!("anon-{}", self.anonymous.len())
    }
}

/// Only what the trait requires: anonymous names come from the default (a uuid4).
struct Defaults;

impl Resolver for Defaults {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Fixed::default().upload(upload)
    }
    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok("7".into())
    }
}

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

fn opts(kind: Kind) -> PlanOptions {
    PlanOptions {
        kind: Some(kind),
        scope: Scope {
            subscription: "sub".into(),
            resource_group: "rg".into(),
            workspace: "ws".into(),
            location: "westeurope".into(),
        },
        job_name: Some("run_1".into()),
        ..PlanOptions::default()
    }
}

/// Writes `files` (relative path, text) into a temp folder and renders the first one.
fn render_with(kind: Kind, files: &[(&str, &str)], r: &mut dyn Resolver) -> Result<Vec<RestRequest>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (rel, text) in files {
        let p = dir.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        fs::write(&p, text).map_err(|e| e.to_string())?;
    }
    fs::create_dir_all(dir.path().join("src")).map_err(|e| e.to_string())?;
    fs::write(dir.path().join("src/main.py"), "print(1)").map_err(|e| e.to_string())?;
    let file = dir.path().join(files[0].0);
    plan_file(Path::new(&file), opts(kind))
        .and_then(|p| p.render(r))
        .map_err(|e| e.to_string())
}

fn render(kind: Kind, files: &[(&str, &str)]) -> Vec<RestRequest> {
    render_with(kind, files, &mut Fixed::default()).unwrap_or_else(|e| panic!("render failed: {e}"))
}

fn main_props(reqs: &[RestRequest]) -> &Value {
    &reqs.last().expect("a main request").body["properties"]
}

#[test]
fn data_without_name_is_registered_under_a_random_name_version_1() {
    let reqs = render(
        Kind::Data,
        &[(
            "data.yml",
            "type: uri_file\npath: https://acct.blob.core.windows.net/c/titanic.csv\n",
        )],
    );
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, format!("{WS}/data/anon-1/versions/1"));
    assert_eq!(reqs[0].body["properties"]["isAnonymous"], json!(true));
    assert_eq!(reqs[0].body["properties"]["dataType"], json!("uri_file"));

    // a named data asset is not anonymous
    let named = render(
        Kind::Data,
        &[(
            "data.yml",
            "name: titanic\ntype: uri_folder\npath: https://a.blob.core.windows.net/c/d/\n",
        )],
    );
    assert_eq!(named[0].path, format!("{WS}/data/titanic/versions/1"));
    assert_eq!(named[0].body["properties"]["isAnonymous"], json!(false));

    // `Asset.__init__`: a version without a name is an error naming `name`
    let err = render_with(
        Kind::Data,
        &[(
            "data.yml",
            "version: 3\ntype: uri_folder\npath: https://a.blob.core.windows.net/c/d/\n",
        )],
        &mut Fixed::default(),
    )
    .unwrap_err();
    assert!(err.contains("name") && err.contains("version"), "{err}");
}

#[test]
fn the_default_anonymous_name_is_a_uuid4() {
    let reqs = render_with(
        Kind::Data,
        &[(
            "data.yml",
            "type: uri_folder\npath: https://a.blob.core.windows.net/c/d/\n",
        )],
        &mut Defaults,
    )
    .unwrap();
    let name = reqs[0]
        .path
        .split("/data/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let parts: Vec<&str> = name.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{name}"
    );
    assert!(parts[2].starts_with('4'), "version-4 uuid: {name}");
}

#[test]
fn environments_with_an_empty_build_are_sent_as_written() {
    // named: `build: {}` is sent as `{}`
    let reqs = render(
        Kind::Environment,
        &[("env.yml", "name: e\nversion: '2'\nbuild: {}\n")],
    );
    assert_eq!(reqs[0].path, format!("{WS}/environments/e/versions/2"));
    assert_eq!(
        reqs[0].body,
        json!({"properties": {"build": {}, "isAnonymous": false, "isArchived": false}})
    );
    // inline in a job: no image or local context names it, so it keeps a random name, version 1
    let mut r = Fixed::default();
    let reqs = render_with(
        Kind::Job,
        &[(
            "job.yml",
            "command: python main.py\ncode: src\nenvironment:\n  build:\n    dockerfile_path: Dockerfile\ncompute: azureml:cpu\n",
        )],
        &mut r,
    )
    .unwrap();
    assert_eq!(r.anonymous, [AssetType::Environment]);
    let env = reqs.iter().find(|q| q.path.contains("/environments/")).unwrap();
    assert_eq!(env.path, format!("{WS}/environments/anon-1/versions/1"));
    assert_eq!(
        env.body["properties"]["build"],
        json!({"dockerfilePath": "Dockerfile"})
    );
    assert_eq!(env.body["properties"]["isAnonymous"], json!(true));
    assert_eq!(main_props(&reqs)["environmentId"], json!(env.path));
}

const SPARK_COMPONENT: &str = "$schema: https://azuremlschemas.azureedge.net/latest/sparkComponent.schema.json\n\
name: sc\nversion: 1\ntype: spark\ncode: ./src\nentry:\n  file: main.py\n\
conf:\n  spark.driver.cores: 2.0\n  spark.driver.memory: 2g\n  spark.executor.cores: '2'\n  spark.executor.memory: 2g\n  spark.executor.instances: 2\n";

#[test]
fn spark_conf_values_keep_their_type_and_digit_strings_become_ints() {
    let reqs = render(Kind::Component, &[("c.yml", SPARK_COMPONENT)]);
    let conf = &main_props(&reqs)["componentSpec"]["conf"];
    assert_eq!(conf["spark.driver.cores"], json!(2.0));
    assert!(conf["spark.driver.cores"].is_f64());
    assert_eq!(conf["spark.executor.cores"], json!(2));
    assert_eq!(conf["spark.executor.instances"], json!(2));

    // a standalone Spark job sends `str(value)`; `runtime_version` is a `NumberVersionField`
    let reqs = render(
        Kind::Job,
        &[(
            "job.yml",
            "type: spark\ncode: ./src\nentry:\n  file: main.py\n\
             conf:\n  spark.driver.cores: 1.0\n  spark.driver.memory: 2g\n  spark.executor.cores: 2\n  spark.executor.memory: 2g\n  spark.executor.instances: 2\n\
             resources:\n  instance_type: standard_e4s_v3\n  runtime_version: 3.4\n",
        )],
    );
    let p = main_props(&reqs);
    assert_eq!(p["conf"]["spark.driver.cores"], json!("1.0"));
    assert_eq!(p["conf"]["spark.executor.cores"], json!("2"));
    assert_eq!(p["resources"]["runtimeVersion"], json!("3.4"));
}

#[test]
fn node_outputs_the_component_does_not_declare_are_dropped() {
    let component = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
        name: c\nversion: 1\ntype: command\ncommand: python main.py --o ${{outputs.o}}\ncode: ./src\n\
        environment: azureml:env:1\noutputs:\n  o:\n    type: uri_folder\n";
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  a:
    type: command
    component: ./c.yml
    outputs:
      o:
        type: uri_folder
      extra:
        type: uri_folder
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline), ("c.yml", component)]);
    let outs = main_props(&reqs)["jobs"]["a"]["outputs"].as_object().unwrap();
    assert_eq!(outs.keys().collect::<Vec<_>>(), ["o"]);
}

#[test]
fn integer_inputs_and_empty_resources_of_components_load_like_the_sdk() {
    let component = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
        name: c\nversion: 1\ntype: command\ncommand: python main.py --n ${{inputs.n}}\ncode: ./src\n\
        environment: azureml:env:1\nresources: {}\n\
        inputs:\n  n:\n    type: integer\n    default: -1.0\n    min: '0.0'\n    max: 100.0\n  x:\n    type: number\n    default: 1\n";
    let reqs = render(Kind::Component, &[("c.yml", component)]);
    let spec = &main_props(&reqs)["componentSpec"];
    assert_eq!(spec["inputs"]["n"]["default"], json!("-1"));
    assert_eq!(spec["inputs"]["n"]["min"], json!("0"));
    assert_eq!(spec["inputs"]["n"]["max"], json!("100"));
    assert_eq!(spec["inputs"]["x"]["default"], json!("1.0"));
    assert!(spec.get("resources").is_none(), "{spec}");
}

#[test]
fn model_batch_deployment_environment_variables_keep_their_type() {
    let base = "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n\
        endpoint_name: ep\nname: dep-one\ntype: model\nmodel: azureml:m:1\ncompute: azureml:cluster\n";
    let with = format!(
        "{base}settings:\n  mini_batch_size: 10\n  environment_variables:\n    A: 0.5\n    B: true\n    C: x\n"
    );
    let reqs = render(Kind::BatchDeployment, &[("d.yml", &with)]);
    assert_eq!(
        main_props(&reqs)["environmentVariables"],
        json!({"A": 0.5, "B": true, "C": "x"})
    );
    let reqs = render(Kind::BatchDeployment, &[("d.yml", base)]);
    assert!(main_props(&reqs).get("environmentVariables").is_none());
}

#[test]
fn a_service_without_type_takes_the_type_its_fields_fit() {
    let job = "command: python main.py\ncode: src\nenvironment: azureml:env:1\ncompute: azureml:cpu\n\
        services:\n  tb:\n    log_dir: outputs/tb\n  ssh:\n    ssh_public_keys: ssh-rsa AAA\n";
    let reqs = render(Kind::Job, &[("job.yml", job)]);
    let s = &main_props(&reqs)["services"];
    assert_eq!(s["tb"]["jobServiceType"], json!("TensorBoard"));
    assert_eq!(s["tb"]["properties"], json!({"logDir": "outputs/tb"}));
    assert_eq!(s["ssh"]["jobServiceType"], json!("SSH"));
}

#[test]
fn parallel_node_numbers_and_task_type_are_cast() {
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  p:
    type: parallel
    inputs:
      d:
        type: uri_folder
        path: https://a.blob.core.windows.net/c/d/
    input_data: ${{inputs.d}}
    mini_batch_size: '5'
    max_concurrency_per_instance: '2'
    error_threshold: -1.0
    retry_settings:
      timeout: '60'
      max_retries: 2
    resources: {}
    task:
      type: RUN_FUNCTION
      code: ./src
      entry_script: main.py
      environment: azureml:env:1
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]);
    let node = &main_props(&reqs)["jobs"]["p"];
    assert_eq!(node["max_concurrency_per_instance"], json!(2));
    assert_eq!(node["error_threshold"], json!(-1));
    assert_eq!(node["retry_settings"]["timeout"], json!(60));
    assert_eq!(node["task"]["type"], json!("run_function"));
    assert!(node.get("resources").is_none(), "{node}");
}

#[test]
fn sweep_and_automl_numbers_given_as_strings_are_cast() {
    let sweep = "type: sweep\ntrial:\n  command: python main.py --c ${{inputs.c}}\n  code: src\n  environment: azureml:env:1\n\
        inputs:\n  c: 1\ncompute: azureml:cpu\nsampling_algorithm: random\n\
        search_space:\n  c:\n    type: uniform\n    min_value: '0.1'\n    max_value: 2\n\
        objective:\n  goal: maximize\n  primary_metric: acc\nlimits:\n  max_total_trials: 2\n\
        early_termination:\n  type: bandit\n  slack_factor: '0.2'\n";
    let reqs = render(Kind::Job, &[("s.yml", sweep)]);
    let p = main_props(&reqs);
    assert_eq!(p["searchSpace"]["c"], json!(["uniform", [0.1, 2]]));
    assert_eq!(p["earlyTermination"]["slackFactor"], json!(0.2));
}

#[test]
fn sweeps_send_no_default_sampling_algorithm_and_their_resources() {
    let sweep = "type: sweep\ntrial:\n  command: python main.py --c ${{inputs.c}}\n  code: src\n  environment: azureml:env:1\n\
        inputs:\n  c: 1\ncompute: azureml:cpu\nresources:\n  instance_count: 2\n\
        search_space:\n  c:\n    type: choice\n    values: [1, 2]\n\
        objective:\n  goal: maximize\n  primary_metric: acc\nlimits:\n  max_total_trials: 2\n";
    let reqs = render(Kind::Job, &[("s.yml", sweep)]);
    let p = main_props(&reqs);
    assert!(p.get("samplingAlgorithm").is_none(), "{p}");
    assert_eq!(p["resources"], json!({"instanceCount": 2, "properties": {}}));
}

#[test]
fn pipeline_components_and_their_nodes_follow_the_pipeline_schemas() {
    let component = r#"$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
name: pc
version: 1
type: pipeline
properties:
  p: 1
jobs:
  a:
    type: command
    component:
      command: python main.py
      code: ./src
      environment: azureml:env:1
"#;
    let reqs = render(Kind::Component, &[("pc.yml", component)]);
    let p = main_props(&reqs);
    assert_eq!(p["properties"], json!({"p": 1}));
    assert!(p["componentSpec"].get("properties").is_none(), "{p}");

    // a node without `type` takes its component's; a pipeline node keeps `azureml:` in its compute
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  inner:
    component: ./pc.yml
    compute: azureml:big
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline), ("pc.yml", component)]);
    let node = &main_props(&reqs)["jobs"]["inner"];
    assert_eq!(node["type"], json!("pipeline"));
    assert_eq!(node["computeId"], json!(format!("{WS}/computes/azureml:big")));
}

#[test]
fn an_inline_parallel_node_without_task_sends_its_run_settings() {
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  p:
    type: parallel
    inputs:
      d:
        type: uri_folder
        path: https://a.blob.core.windows.net/c/d/
    input_data: ${{inputs.d}}
    mini_batch_size: '5'
    mini_batch_error_threshold: 5
    max_concurrency_per_instance: 2
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]);
    let node = &main_props(&reqs)["jobs"]["p"];
    assert_eq!(node["mini_batch_error_threshold"], json!(5));
    assert_eq!(node["max_concurrency_per_instance"], json!(2));
    assert!(node.get("task").is_none(), "{node}");
}

const TEXT_JOB: &str = r#"type: automl
task: text_classification
primary_metric: accuracy
target_column_name: y
compute: azureml:gpu
training_data:
  type: mltable
  path: azureml://datastores/d/paths/train/
validation_data:
  type: mltable
  path: azureml://datastores/d/paths/valid/
services:
  my_ssh:
    type: ssh
    ssh_public_keys: ssh-rsa AAA
"#;

#[test]
fn automl_jobs_send_the_verticals_default_limits_and_their_service_entities() {
    let reqs = render(Kind::Job, &[("j.yml", TEXT_JOB)]);
    let p = main_props(&reqs);
    assert_eq!(
        p["taskDetails"]["limitSettings"],
        json!({"maxTrials": 1, "maxNodes": 1})
    );
    assert_eq!(
        p["services"]["my_ssh"],
        json!({"endpoint": null, "type": "ssh", "nodes": null, "port": null, "properties": null,
               "ssh_public_keys": "ssh-rsa AAA"})
    );
    let image = TEXT_JOB
        .replace("task: text_classification", "task: image_object_detection")
        .replace(
            "primary_metric: accuracy",
            "primary_metric: mean_average_precision",
        );
    let reqs = render(Kind::Job, &[("j.yml", &image)]);
    assert_eq!(main_props(&reqs)["taskDetails"]["limitSettings"], json!({}));
}

#[test]
fn tabular_featurization_defaults_to_auto_mode() {
    let job = r#"type: automl
task: classification
primary_metric: accuracy
target_column_name: y
compute: azureml:cpu
training_data:
  type: mltable
  path: azureml://datastores/d/paths/train/
limits:
  max_trials: 2
featurization:
  blocked_transformers: [LabelEncoder]
"#;
    let reqs = render(Kind::Job, &[("j.yml", job)]);
    let f = &main_props(&reqs)["taskDetails"]["featurizationSettings"];
    assert_eq!(f["mode"], json!("auto"));
}

#[test]
fn automl_nodes_follow_the_node_schemas() {
    let pipeline = r#"type: pipeline
jobs:
  text:
    type: automl
    task: text_classification
    primary_metric: accuracy
    target_column_name: y
    compute: azureml:gpu
    training_data: ${{parent.inputs.t}}
    validation_data: ${{parent.inputs.t}}
    limits:
      max_nodes: 2
  image:
    type: automl
    task: image_object_detection
    primary_metric: mean_average_precision
    target_column_name: y
    compute: azureml:gpu
    training_data: ${{parent.inputs.t}}
    validation_data: ${{parent.inputs.t}}
inputs:
  t:
    type: mltable
    path: azureml://datastores/d/paths/train/
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]);
    let jobs = &main_props(&reqs)["jobs"];
    assert_eq!(jobs["text"]["limits"], json!({"max_trials": 1, "max_nodes": 2}));
    assert!(jobs["text"].get("log_verbosity").is_none(), "{}", jobs["text"]);
    assert_eq!(jobs["image"]["limits"], json!({}));
    assert_eq!(jobs["image"]["log_verbosity"], json!("info"));
    assert_eq!(
        jobs["image"]["compute"],
        json!(format!("azureml:{WS}/computes/gpu"))
    );
    assert!(jobs["image"].get("computeId").is_none());
}

#[test]
fn an_output_path_holding_a_binding_is_sent_as_written() {
    let pipeline = r#"type: pipeline
compute: azureml:cpu
outputs:
  r:
    type: uri_file
jobs:
  a:
    type: command
    command: echo ${{outputs.o}}
    environment: azureml:env:1
    outputs:
      o:
        type: uri_file
        path: ./${{parent.outputs.r}}
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]);
    let o = &main_props(&reqs)["jobs"]["a"]["outputs"]["o"];
    assert_eq!(o["uri"], json!("./${{parent.outputs.r}}"));
}

#[test]
fn a_user_assigned_identity_without_resource_id_is_keyed_null() {
    let ep = "name: ep-one\nauth_mode: key\nidentity:\n  type: user_assigned\n  user_assigned_identities:\n  - {}\n";
    let reqs = render(Kind::OnlineEndpoint, &[("e.yml", ep)]);
    assert_eq!(
        reqs[0].body["identity"]["userAssignedIdentities"],
        json!({"null": {}})
    );
}

#[test]
fn automl_queue_settings_and_forecasting_integers_load_like_the_sdk() {
    let job = r#"type: automl
task: forecasting
primary_metric: normalized_root_mean_squared_error
target_column_name: y
compute: azureml:cpu
training_data:
  type: mltable
  path: azureml://datastores/d/paths/train/
limits:
  max_trials: 2
forecasting:
  time_column_name: t
  forecast_horizon: "20"
  target_lags: ["1", 2]
  seasonality: auto
queue_settings:
  job_tier: Premium
"#;
    let reqs = render(Kind::Job, &[("j.yml", job)]);
    let p = main_props(&reqs);
    assert_eq!(
        p["queueSettings"],
        json!({"job_tier": "premium", "priority": null})
    );
    assert!(p["taskDetails"].get("queueSettings").is_none());
    let f = &p["taskDetails"]["forecastingSettings"];
    assert_eq!(f["forecastHorizon"], json!({"value": 20, "mode": "Custom"}));
    assert_eq!(f["targetLags"], json!({"values": [1, 2], "mode": "Custom"}));
    assert_eq!(f["seasonality"], json!({"mode": "Auto"}));
}

#[test]
fn a_pipeline_batch_deployment_without_component_sends_an_empty_reference() {
    let d = "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json\n\
        name: dep-one\nendpoint_name: ep-one\ntype: pipeline\nsettings:\n  default_compute: cluster\n";
    let reqs = render(Kind::BatchDeployment, &[("d.yml", d)]);
    assert_eq!(
        main_props(&reqs)["deploymentConfiguration"],
        json!({"componentId": {"referenceType": "Id"}, "deploymentConfigurationType": "PipelineComponent",
               "settings": {"default_compute": "cluster"}})
    );
}

#[test]
fn environment_references_resolve_like_get_asset_arm_id() {
    // a job's `@latest` environment is resolved to the latest version's ARM id
    let job = "command: python main.py\ncode: src\nenvironment: azureml:myenv@latest\ncompute: azureml:cpu\n";
    let reqs = render(Kind::Job, &[("j.yml", job)]);
    assert_eq!(
        main_props(&reqs)["environmentId"],
        json!(format!("{WS}/environments/myenv/versions/7"))
    );
    // a curated environment keeps its short form in an inline node's component, whatever the version form
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  a:
    type: command
    command: python main.py
    code: src
    environment: azureml:AzureML-sklearn-1.5:3
"#;
    let reqs = render(Kind::Job, &[("p.yml", pipeline)]);
    let spec = reqs
        .iter()
        .find_map(|r| r.body["properties"].get("componentSpec"))
        .expect("an anonymous component");
    assert_eq!(spec["environment"], json!("azureml:AzureML-sklearn-1.5:3"));
}
