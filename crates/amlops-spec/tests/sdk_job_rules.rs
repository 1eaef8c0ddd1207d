//! The SDK's validations of jobs and components ported from azure-ai-ml 1.35.2 (Spark jobs and nodes, pipeline
//! nodes, sweep settings, environment references, component ports): each rule refuses what the SDK refuses, names
//! the field, and still accepts the valid form next to it.

use crate::support::fixed;

use std::fs;

use amlops_spec::{AssetType, Kind, PlanOptions, Resolver, Upload, UploadOutcome, plan_file};

struct Fake;

impl Resolver for Fake {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Ok(fixed::upload_outcome(upload))
    }
    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok("7".into())
    }
}

/// Writes `files` (name, text) into a fresh folder, then plans and renders the first one as `kind`.
fn run(kind: Kind, files: &[(&str, &str)]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (name, text) in files {
        fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    fs::create_dir_all(dir.path().join("src")).map_err(|e| e.to_string())?;
    fs::write(dir.path().join("src/main.py"), "print(1)\n").map_err(|e| e.to_string())?;
    let opts = PlanOptions {
        kind: Some(kind),
        job_name: Some("j1".into()),
        ..PlanOptions::default()
    };
    let plan = plan_file(&dir.path().join(files[0].0), opts).map_err(|e| e.to_string())?;
    plan.render(&mut Fake).map(|_| ()).map_err(|e| e.to_string())
}

fn job(text: &str) -> Result<(), String> {
    run(Kind::Job, &[("job.yml", text)])
}

#[track_caller]
fn rejects(r: Result<(), String>, needles: &[&str]) {
    let e = r.expect_err("the SDK rejects this file");
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
}

const SPARK: &str = "type: spark
code: ./src
entry:
  file: main.py
conf:
  spark.driver.cores: 1
  spark.driver.memory: 2g
  spark.executor.cores: 2
  spark.executor.memory: 2g
  spark.executor.instances: 2
inputs:
  data:
    type: uri_file
    path: azureml://datastores/workspaceblobstore/paths/data/titanic.csv
    mode: direct
outputs:
  out:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/data/out/
    mode: direct
args: --data ${{inputs.data}} --out ${{outputs.out}}
resources:
  instance_type: standard_e4s_v3
  runtime_version: \"3.4\"
";

fn spark_with(from: &str, to: &str) -> Result<(), String> {
    assert!(SPARK.contains(from), "{from}");
    job(&SPARK.replace(from, to))
}

#[test]
fn spark_conf_follows_validate_spark_configurations() {
    job(SPARK).unwrap();
    rejects(
        spark_with("  spark.executor.instances: 2\n", ""),
        &["field `conf`", "spark.executor.instances are mandatory"],
    );
    let dynamic = "  spark.executor.instances: 2\n  spark.dynamicAllocation.enabled: true\n  \
                   spark.dynamicAllocation.minExecutors: 1\n  spark.dynamicAllocation.maxExecutors: 4\n";
    spark_with("  spark.executor.instances: 2\n", dynamic).unwrap();
    rejects(
        spark_with(
            "  spark.executor.instances: 2\n",
            &dynamic.replace("minExecutors: 1", "minExecutors: 5"),
        ),
        &["min executors should be equal or less than max"],
    );
    rejects(
        spark_with(
            "  spark.executor.instances: 2\n",
            "  spark.executor.instances: 2\n  spark.dynamicAllocation.minExecutors: 1\n",
        ),
        &["Should not specify min or max executors"],
    );
}

#[test]
fn spark_job_runs_on_compute_or_resources() {
    rejects(
        spark_with("resources:\n", "compute: azureml:pool\nresources:\n"),
        &["Only one of either compute or resources"],
    );
    let no_resources = SPARK.split("resources:").next().unwrap_or_default();
    rejects(job(no_resources), &["One of either compute or resources"]);
    job(&format!("{no_resources}compute: azureml:pool\n")).unwrap();
    rejects(
        spark_with("  instance_type: standard_e4s_v3\n", ""),
        &["field `resources.instance_type`", "Missing data"],
    );
    rejects(
        spark_with("standard_e4s_v3", "Standard_DS3_v2"),
        &["resources.instance_type"],
    );
    spark_with("standard_e4s_v3", "Standard_E4S_V3").unwrap();
    rejects(
        spark_with("  runtime_version: \"3.4\"\n", ""),
        &["field `resources.runtime_version`"],
    );
}

#[test]
fn spark_job_modes_entry_args_and_fields() {
    rejects(
        spark_with(
            "    path: azureml://datastores/workspaceblobstore/paths/data/out/\n    mode: direct\n",
            "    mode: rw_mount\n",
        ),
        &["field `outputs.out`", "Output 'out' is using 'rw_mount' mode"],
    );
    rejects(
        spark_with("titanic.csv\n    mode: direct\n", "titanic.csv\n"),
        &["field `inputs.data`", "Input 'data' is using 'None' mode"],
    );
    rejects(
        spark_with("entry:\n  file: main.py\n", ""),
        &["field `entry`", "Missing data"],
    );
    rejects(
        spark_with("  file: main.py\n", "  class_name: com.Main\n"),
        &["Classpath is not supported"],
    );
    rejects(
        spark_with("--data ${{inputs.data}}", "--data ${{inputs.other}}"),
        &["field `args`", "'other' referenced in args"],
    );
    rejects(
        spark_with("code: ./src\n", "code: ./src\nlimits:\n  timeout: 30\n"),
        &["field `limits`"],
    );
}

const COMPONENT: &str = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
name: train
type: command
inputs:
  data:
    type: uri_folder
  rate:
    type: number
    default: 0.1
  seed:
    type: integer
    optional: true
outputs:
  model:
    type: uri_folder
command: python main.py --data ${{inputs.data}} $[[--rate ${{inputs.rate}}]] $[[--seed ${{inputs.seed}}]] --model ${{outputs.model}}
environment: azureml:env:1
code: ./src
";

const PIPELINE: &str = "type: pipeline
settings:
  default_compute: azureml:cpu
inputs:
  raw:
    type: uri_folder
    path: azureml://datastores/workspaceblobstore/paths/raw/
jobs:
  train:
    type: command
    component: ./train.yml
    inputs:
      data: ${{parent.inputs.raw}}
  show:
    type: command
    command: ls ${{inputs.model}}
    environment: azureml:env:1
    inputs:
      model: ${{parent.jobs.train.outputs.model}}
";

fn pipeline_with(from: &str, to: &str) -> Result<(), String> {
    assert!(PIPELINE.contains(from), "{from}");
    run(
        Kind::Job,
        &[("p.yml", &PIPELINE.replace(from, to)), ("train.yml", COMPONENT)],
    )
}

#[test]
fn node_inputs_a_component_requires_are_given() {
    pipeline_with("", "").unwrap();
    rejects(
        pipeline_with("    inputs:\n      data: ${{parent.inputs.raw}}\n", ""),
        &[
            "field `jobs.train.inputs.data`",
            "Required input 'data' for component 'train' not provided",
        ],
    );
    rejects(
        pipeline_with("data: ${{parent.inputs.raw}}", "data: null"),
        &["Required input 'data'"],
    );
}

#[test]
fn inline_node_bindings_name_existing_sources() {
    let binding = "model: ${{parent.jobs.train.outputs.model}}";
    rejects(
        pipeline_with(binding, "model: ${{parent.jobs.nope.outputs.model}}"),
        &[
            "field `jobs.show.inputs.model`",
            "Failed to find referenced source",
        ],
    );
    rejects(
        pipeline_with(binding, "model: ${{parent.jobs.train.outputs.other}}"),
        &["Failed to find referenced source"],
    );
    rejects(
        pipeline_with(binding, "model: ${{parent.inputs.missing}}"),
        &["Failed to find top level definition for input binding"],
    );
    pipeline_with(binding, "model: ${{parent.inputs.raw}}").unwrap();
    // a registered component's node offers only the outputs its YAML lists
    rejects(
        pipeline_with("component: ./train.yml", "component: azureml:train:1"),
        &["Failed to find referenced source for input binding ${{parent.jobs.train.outputs.model}}"],
    );
    pipeline_with(
        "component: ./train.yml",
        "component: azureml:train:1\n    outputs:\n      model:\n        type: uri_folder",
    )
    .unwrap();
}

#[test]
fn node_schemas_follow_pipeline_jobs_field() {
    // an inline command node is a `PipelineCommandJobSchema`: no unknown fields
    rejects(
        pipeline_with("    command: ls", "    log_verbosity: info\n    command: ls"),
        &["field `jobs.show.log_verbosity`", "Unknown field"],
    );
    // a node of a component keeps unknown fields (`unknown=INCLUDE`)
    pipeline_with(
        "    component: ./train.yml",
        "    log_verbosity: info\n    component: ./train.yml",
    )
    .unwrap();
    rejects(
        pipeline_with(
            "data: ${{parent.inputs.raw}}",
            "data:\n        type: uri_folder\n        mode: ro_mount",
        ),
        &["field `jobs.train.inputs.data.path`", "Input path can't be empty"],
    );
    rejects(
        pipeline_with(
            "    type: command\n    component: ./train.yml",
            "    type: pipeline",
        ),
        &["field `jobs.train.component`"],
    );
    rejects(
        pipeline_with(
            "    command: ls",
            "    distribution:\n      process_count_per_instance: 2\n    command: ls",
        ),
        &["field `jobs.show.distribution.type`"],
    );
    pipeline_with(
        "    command: ls",
        "    distribution:\n      type: pytorch\n      process_count_per_instance: 2\n    command: ls",
    )
    .unwrap();
}

const PARALLEL: &str = "type: pipeline
settings:
  default_compute: azureml:cpu
jobs:
  score:
    type: parallel
    mini_batch_size: \"5\"
    inputs:
      data:
        type: uri_folder
        path: azureml://datastores/workspaceblobstore/paths/raw/
    input_data: ${{inputs.data}}
    task:
      type: run_function
      code: ./src
      entry_script: main.py
      environment: azureml:env:1
";

#[test]
fn parallel_nodes_follow_parameterized_parallel_schema() {
    job(PARALLEL).unwrap();
    rejects(
        job(&PARALLEL.replace("mini_batch_size: \"5\"", "mini_batch_size: 5")),
        &["field `jobs.score.mini_batch_size`", "Not a valid string"],
    );
    rejects(
        job(&PARALLEL.replace("      type: run_function\n", "")),
        &["field `jobs.score.task.type`"],
    );
    rejects(
        job(&PARALLEL.replace(
            "    mini_batch_size",
            "    log_verbosity: info\n    mini_batch_size",
        )),
        &["field `jobs.score.log_verbosity`", "Unknown field"],
    );
}

const SPARK_PIPELINE: &str = "type: pipeline
jobs:
  wrangle:
    type: spark
    code: ./src
    entry:
      file: main.py
    outputs:
      out:
        type: uri_folder
        mode: direct
    args: --out ${{outputs.out}}
    resources:
      instance_type: standard_e4s_v3
      runtime_version: \"3.4\"
    conf:
      spark.driver.cores: 1
      spark.driver.memory: 2g
      spark.executor.cores: 2
      spark.executor.memory: 2g
      spark.executor.instances: 2
";

#[test]
fn inline_spark_nodes_follow_pipeline_spark_job_schema() {
    job(SPARK_PIPELINE).unwrap();
    rejects(
        job(&SPARK_PIPELINE.replace("        mode: direct\n", "")),
        &["field `jobs.wrangle.outputs.out`", "only 'direct' is supported"],
    );
    rejects(
        job(&SPARK_PIPELINE.replace("    entry:\n      file: main.py\n", "")),
        &["field `jobs.wrangle.entry`"],
    );
    rejects(
        job(&SPARK_PIPELINE.replace("      runtime_version: \"3.4\"\n", "")),
        &["field `jobs.wrangle.resources.runtime_version`"],
    );
    rejects(
        job(&SPARK_PIPELINE.replace("      spark.driver.memory: 2g\n", "")),
        &["field `jobs.wrangle.conf`", "mandatory fields"],
    );
}

const SWEEP: &str = "type: sweep
trial:
  command: python main.py --c ${{inputs.c}}
  code: ./src
  environment: azureml:env:1
inputs:
  c: 1
compute: azureml:cpu
sampling_algorithm: random
search_space:
  c:
    type: uniform
    min_value: 0.1
    max_value: 1.0
objective:
  goal: maximize
  primary_metric: accuracy
limits:
  max_total_trials: 4
";

fn sweep_with(from: &str, to: &str) -> Result<(), String> {
    assert!(SWEEP.contains(from), "{from}");
    job(&SWEEP.replace(from, to))
}

#[test]
fn sweep_settings_follow_parameterized_sweep_schema() {
    job(SWEEP).unwrap();
    rejects(
        sweep_with("  primary_metric: accuracy\n", ""),
        &["field `objective.primary_metric`", "Missing data"],
    );
    rejects(
        sweep_with("  max_total_trials: 4\n", "  timeout: 60\n"),
        &["field `limits.max_total_trials`"],
    );
    rejects(
        sweep_with(
            "search_space:\n  c:\n    type: uniform\n    min_value: 0.1\n    max_value: 1.0\n",
            "",
        ),
        &["field `search_space`"],
    );
    rejects(
        sweep_with("    type: uniform\n", ""),
        &["field `search_space.c.type`"],
    );
    rejects(
        sweep_with("    min_value: 0.1\n", ""),
        &["field `search_space.c.min_value`", "needs min_value, max_value"],
    );
    rejects(
        sweep_with("    min_value: 0.1\n", "    min_value: 0.1\n    values: [1]\n"),
        &["field `search_space.c.values`", "Unknown field"],
    );
    sweep_with(
        "    type: uniform\n    min_value: 0.1\n    max_value: 1.0\n",
        "    type: choice\n    values: [0.1, 1]\n",
    )
    .unwrap();
    rejects(
        sweep_with("inputs:\n  c: 1\n", ""),
        &["field `trial.command`", "'c' referenced in command"],
    );
}

#[test]
fn environment_references_need_the_azureml_prefix() {
    let cmd = "type: command\ncommand: echo hi\ncompute: azureml:cpu\n\
               environment: azureml:AzureML-sklearn-1.5@latest\n";
    job(cmd).unwrap();
    rejects(
        job(&cmd.replace("azureml:AzureML", "AzureML")),
        &["field `environment`", "`azureml:` prefix"],
    );
    let comp = COMPONENT.replace("azureml:env:1", "env:1");
    rejects(
        run(Kind::Component, &[("c.yml", &comp)]),
        &["field `environment`", "`azureml:` prefix"],
    );
    run(Kind::Component, &[("c.yml", COMPONENT)]).unwrap();
}

const SPARK_COMPONENT: &str = "name: wrangle
type: spark
code: ./src
entry:
  file: main.py
inputs:
  data:
    type: uri_file
    mode: direct
outputs:
  out:
    type: uri_folder
    mode: direct
args: --data ${{inputs.data}} --out ${{outputs.out}}
conf:
  spark.driver.cores: 1
  spark.driver.memory: 2g
  spark.executor.cores: 2
  spark.executor.memory: 2g
  spark.executor.instances: 2
";

#[test]
fn component_ports_and_spark_entries_follow_component_schemas() {
    let comp = |t: &str| run(Kind::Component, &[("c.yml", t)]);
    comp(SPARK_COMPONENT).unwrap();
    rejects(
        comp(&SPARK_COMPONENT.replace("    type: uri_file\n", "")),
        &["field `inputs.data.type`", "Missing data"],
    );
    rejects(
        comp(&SPARK_COMPONENT.replace("entry:\n  file: main.py\n", "")),
        &["field `entry`", "Missing data"],
    );
    rejects(
        comp(&SPARK_COMPONENT.replace("  file: main.py\n", "  other: main.py\n")),
        &["field `entry.file`"],
    );
    // a component may name a class entry (only jobs and nodes refuse it)
    comp(&SPARK_COMPONENT.replace("  file: main.py\n", "  class_name: com.Main\n")).unwrap();
    let with_enum = COMPONENT.replace(
        "  seed:\n    type: integer\n",
        "  mode:\n    type: string\n    enum: [fast, slow]\n    default: fast\n  seed:\n    type: integer\n",
    );
    comp(&with_enum).unwrap();
    rejects(
        comp(&with_enum.replace("[fast, slow]", "[true, slow]")),
        &["field `inputs.mode.enum.0`", "Not a valid string"],
    );
    let pipeline_component = "name: pc\ntype: pipeline\ninputs:\n  raw:\n    type: uri_folder\noutputs:\n  \
                              model: {}\njobs:\n  train:\n    type: command\n    component: ./train.yml\n    \
                              inputs:\n      data: ${{parent.inputs.raw}}\n    outputs:\n      \
                              model: ${{parent.outputs.model}}\n";
    rejects(
        run(
            Kind::Component,
            &[("pc.yml", pipeline_component), ("train.yml", COMPONENT)],
        ),
        &["field `outputs.model.type`"],
    );
    run(
        Kind::Component,
        &[
            ("pc.yml", &pipeline_component.replace("{}", "{type: uri_folder}")),
            ("train.yml", COMPONENT),
        ],
    )
    .unwrap();
}
