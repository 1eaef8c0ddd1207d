//! Rules ported from the SDK (azure-ai-ml 1.35.2) after the differential run on a second variant set: the
//! defaults the SDK's entities fill in, the node types its unions infer, labels it cannot resolve.

use crate::support::fixed;

use std::fs;
use std::path::Path;

use amlops_spec::{
    AssetType, Kind, PlanOptions, Resolver, RestRequest, Scope, Upload, UploadOutcome, plan_file,
};
use serde_json::{Value, json};

struct Fixed;

impl Resolver for Fixed {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Ok(fixed::upload_outcome(upload))
    }
    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok("7".into())
    }
    fn anonymous_name(&mut self, _asset: AssetType) -> String {
        "anon-1".into()
    }
}

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

/// Writes `files` (relative path, text) into a temp folder and renders the first one as `kind`.
fn render(kind: Kind, files: &[(&str, &str)]) -> Result<Vec<RestRequest>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for (rel, text) in files {
        let p = dir.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        fs::write(&p, text).map_err(|e| e.to_string())?;
    }
    for d in ["src", "code"] {
        fs::create_dir_all(dir.path().join(d)).map_err(|e| e.to_string())?;
        fs::write(dir.path().join(d).join("main.py"), "print(1)").map_err(|e| e.to_string())?;
    }
    let opts = PlanOptions {
        kind: Some(kind),
        scope: Scope {
            subscription: "sub".into(),
            resource_group: "rg".into(),
            workspace: "ws".into(),
            location: "westeurope".into(),
        },
        job_name: Some("run_1".into()),
        ..PlanOptions::default()
    };
    let file = dir.path().join(files[0].0);
    plan_file(Path::new(&file), opts)
        .and_then(|p| p.render(&mut Fixed))
        .map_err(|e| e.to_string())
}

fn props(kind: Kind, files: &[(&str, &str)]) -> Value {
    let reqs = render(kind, files).unwrap_or_else(|e| panic!("render failed: {e}"));
    reqs.last().expect("a main request").body["properties"].clone()
}

#[track_caller]
fn rejects(r: Result<Vec<RestRequest>, String>, needles: &[&str]) {
    let e = r.expect_err("the SDK rejects this file");
    for n in needles {
        assert!(e.contains(n), "`{n}` not in: {e}");
    }
}

#[test]
fn a_service_without_type_or_log_dir_is_ssh() {
    let job = "command: python main.py\ncode: src\nenvironment: azureml:env:1\ncompute: azureml:cpu\n\
        services:\n  a: {}\n  b:\n    port: 22\n  c:\n    type: vs_code\n  d:\n    log_dir: logs\n";
    let s = &props(Kind::Job, &[("job.yml", job)])["services"];
    assert_eq!(s["a"]["jobServiceType"], json!("SSH"));
    assert_eq!(s["b"]["jobServiceType"], json!("SSH"));
    assert_eq!(s["c"]["jobServiceType"], json!("VSCode"));
    assert_eq!(s["d"]["jobServiceType"], json!("TensorBoard"));
}

#[test]
fn early_termination_policies_send_their_entity_defaults() {
    let job = |et: &str| {
        format!(
            "type: automl\ntask: text_ner\ncompute: azureml:gpu\nprimary_metric: accuracy\n\
             training_data:\n  type: mltable\n  path: azureml:train:1\n\
             validation_data:\n  type: mltable\n  path: azureml:valid:1\n\
             limits:\n  max_trials: 2\nsweep:\n  sampling_algorithm: random\n  early_termination: {et}\n\
             search_space:\n- model_name:\n    type: choice\n    values: [bert-base-cased]\n"
        )
    };
    let et = |et: &str| {
        props(Kind::Job, &[("j.yml", &job(et))])["taskDetails"]["sweepSettings"]["earlyTermination"].clone()
    };
    assert_eq!(
        et("{type: bandit, slack_amount: 0.05}"),
        json!({"policyType": "Bandit", "slackAmount": 0.05, "slackFactor": 0, "delayEvaluation": 0, "evaluationInterval": 0})
    );
    assert_eq!(
        et("{type: median_stopping, delay_evaluation: 3}"),
        json!({"policyType": "MedianStopping", "delayEvaluation": 3, "evaluationInterval": 1})
    );
    assert_eq!(
        et("{type: truncation_selection, truncation_percentage: 20, evaluation_interval: 2}"),
        json!({"policyType": "TruncationSelection", "truncationPercentage": 20, "delayEvaluation": 0, "evaluationInterval": 2})
    );
    // a sweep job's policy is the same entity
    let sweep = "type: sweep\ncompute: azureml:cpu\nsampling_algorithm: random\n\
        objective:\n  goal: maximize\n  primary_metric: acc\n\
        trial:\n  command: python main.py --lr ${{search_space.lr}}\n  code: src\n  environment: azureml:env:1\n\
        search_space:\n  lr:\n    type: uniform\n    min_value: 0.1\n    max_value: 0.2\n\
        limits:\n  max_total_trials: 2\nearly_termination:\n  type: median_stopping\n";
    assert_eq!(
        props(Kind::Job, &[("s.yml", sweep)])["earlyTermination"],
        json!({"policyType": "MedianStopping", "delayEvaluation": 0, "evaluationInterval": 1})
    );
}

#[test]
fn a_pipeline_job_from_a_pipeline_component_takes_its_display_name_and_description() {
    let component = "type: pipeline\nname: hello\ndisplay_name: Hello component\ndescription: from the component\n\
        jobs:\n  a:\n    type: command\n    component:\n      command: python main.py\n      code: ../src\n      environment: azureml:env:1\n";
    let job = "type: pipeline\ncompute: azureml:cpu\ncomponent: c/hello.yml\n";
    let p = props(Kind::Job, &[("job.yml", job), ("c/hello.yml", component)]);
    assert_eq!(p["displayName"], json!("Hello component"));
    assert_eq!(p["description"], json!("from the component"));
    // what the job sets wins
    let job = "type: pipeline\ncompute: azureml:cpu\ncomponent: c/hello.yml\ndisplay_name: mine\ndescription: own\n";
    let p = props(Kind::Job, &[("job.yml", job), ("c/hello.yml", component)]);
    assert_eq!(p["displayName"], json!("mine"));
    assert_eq!(p["description"], json!("own"));
}

#[test]
fn asset_labels_other_than_latest_are_refused() {
    let dep = |model: &str| {
        format!(
            "name: blue\nendpoint_name: ep\nmodel: {model}\ninstance_type: Standard_DS3_v2\ninstance_count: 1\n\
             environment: azureml:env:1\ncode_configuration:\n  code: code\n  scoring_script: main.py\n"
        )
    };
    rejects(
        render(Kind::OnlineDeployment, &[("d.yml", &dep("azureml:m@production"))]),
        &["model", "m@production", "label", "azureml:m:<version>"],
    );
    let p = props(Kind::OnlineDeployment, &[("d.yml", &dep("azureml:m@latest"))]);
    assert_eq!(p["model"], json!(format!("{WS}/models/m/versions/7")));
    let p = props(Kind::OnlineDeployment, &[("d.yml", &dep("azureml:m:3"))]);
    assert_eq!(p["model"], json!(format!("{WS}/models/m/versions/3")));
    // environments of jobs, nodes and components go through the same resolution
    let job =
        |env: &str| format!("command: python main.py\ncode: src\nenvironment: {env}\ncompute: azureml:cpu\n");
    rejects(
        render(Kind::Job, &[("j.yml", &job("azureml:e@prod"))]),
        &["environment", "e@prod", "label"],
    );
    let p = props(Kind::Job, &[("j.yml", &job("azureml:e@latest"))]);
    assert_eq!(
        p["environmentId"],
        json!(format!("{WS}/environments/e/versions/7"))
    );
    let node = "type: pipeline\ncompute: azureml:cpu\njobs:\n  a:\n    type: command\n    command: python main.py\n    \
        code: src\n    environment: azureml:e@prod\n";
    rejects(render(Kind::Job, &[("p.yml", node)]), &["environment", "e@prod"]);
    let component = "name: c1\nversion: 1\ncommand: python main.py\ncode: src\nenvironment: azureml:e@prod\n";
    // so do data references of job inputs
    let input = "command: python main.py --d ${{inputs.d}}\ncode: src\nenvironment: azureml:env:1\ncompute: azureml:cpu\n\
        inputs:\n  d:\n    type: uri_folder\n    path: azureml:mydata@prod\n";
    rejects(
        render(Kind::Job, &[("d.yml", input)]),
        &["inputs.d", "mydata@prod"],
    );
    rejects(
        render(Kind::Component, &[("c.yml", component)]),
        &["environment", "e@prod"],
    );
}

const SPARK_JOB: &str = "type: spark
code: ./src
entry:
  file: main.py
conf:
  spark.driver.cores: 1
  spark.driver.memory: 2g
  spark.executor.cores: 2
  spark.executor.memory: 2g
  spark.executor.instances: 2
resources:
  instance_type: standard_e4s_v3
  runtime_version: \"3.4\"
";

#[test]
fn a_spark_job_sends_no_properties_or_services_and_needs_an_identity_type() {
    let job = format!(
        "{SPARK_JOB}properties:\n  p: 1\nservices:\n  my_ssh:\n    type: ssh\n    ssh_public_keys: ssh-rsa AAA\n\
         identity:\n  type: managed\n"
    );
    let p = props(Kind::Job, &[("j.yml", &job)]);
    assert_eq!(p["properties"], json!({}));
    assert!(p.get("services").is_none(), "{p}");
    assert_eq!(p["identity"], json!({"identityType": "Managed"}));
    // a command job keeps both
    let cmd = "command: python main.py\ncode: src\nenvironment: azureml:env:1\ncompute: azureml:cpu\n\
        properties:\n  p: x\nservices:\n  s:\n    type: ssh\n";
    let p = props(Kind::Job, &[("c.yml", cmd)]);
    assert_eq!(p["properties"], json!({"p": "x"}));
    assert_eq!(p["services"]["s"]["jobServiceType"], json!("SSH"));
    // `identity` without `type` fits none of the identity schemas, on every job kind
    rejects(
        render(Kind::Job, &[("j.yml", &format!("{SPARK_JOB}identity: {{}}\n"))]),
        &["identity.type", "Missing data for required field"],
    );
    rejects(
        render(
            Kind::Job,
            &[("c.yml", &format!("{cmd}identity:\n  client_id: abc\n"))],
        ),
        &["identity.type"],
    );
}

#[test]
fn a_node_without_type_gets_the_type_its_schema_union_loads() {
    // an inline node with a parallel `task` and no `component`/`command` is a parallel node
    let pipeline = r#"type: pipeline
compute: azureml:cpu
jobs:
  p:
    inputs:
      d:
        type: uri_folder
        path: https://a.blob.core.windows.net/c/d/
    input_data: ${{inputs.d}}
    mini_batch_size: '5'
    task:
      type: run_function
      code: ./src
      entry_script: main.py
      environment: azureml:env:1
"#;
    let node = props(Kind::Job, &[("p.yml", pipeline)])["jobs"]["p"].clone();
    assert_eq!(node["type"], json!("parallel"));
    assert_eq!(node["mini_batch_size"], json!(5));
    assert_eq!(node["task"]["entry_script"], json!("main.py"));
    // without `task` too (`PipelineParallelJobSchema` has no required field); its `mini_batch_size` must be a
    // string there, so this node fits no schema of the union
    let bare = "type: pipeline\ncompute: azureml:cpu\njobs:\n  p:\n    mini_batch_size: 5\n";
    rejects(render(Kind::Job, &[("p.yml", bare)]), &["jobs.p.mini_batch_size"]);
    // a field `ParallelJob.__init__` does not take (`environment`) leaves a command node, which needs `component`
    let env = "type: pipeline\ncompute: azureml:cpu\njobs:\n  p:\n    environment: azureml:env:1\n";
    rejects(render(Kind::Job, &[("p.yml", env)]), &["jobs.p.component"]);
    // a node naming a Spark component file is a Spark node: with `resources` it runs serverless
    let component = "type: spark\nname: sc\ncode: ./src\nentry:\n  file: main.py\n\
        conf:\n  spark.driver.cores: 1\n  spark.driver.memory: 2g\n  spark.executor.cores: 2\n  \
        spark.executor.memory: 2g\n  spark.executor.instances: 1\n";
    let pipeline = "type: pipeline\njobs:\n  s:\n    component: ./sc.yml\n    resources:\n      \
        instance_type: Standard_E8S_V3\n      runtime_version: '3.4'\n";
    let node = props(Kind::Job, &[("p.yml", pipeline), ("sc.yml", component)])["jobs"]["s"].clone();
    assert_eq!(node["type"], json!("spark"));
    assert_eq!(node["resources"]["instance_type"], json!("standard_e8s_v3"));
    // a command component file still needs a compute
    let command = "name: cc\ncommand: python main.py\ncode: ./src\nenvironment: azureml:env:1\n";
    let pipeline = "type: pipeline\njobs:\n  c:\n    component: ./cc.yml\n";
    rejects(
        render(Kind::Job, &[("p.yml", pipeline), ("cc.yml", command)]),
        &["jobs.c.compute", "Compute not set"],
    );
}

#[test]
fn a_pipeline_batch_deployment_sends_settings_only_when_given() {
    let component = "type: pipeline\nname: pc\njobs:\n  a:\n    type: command\n    component:\n      \
        command: python main.py\n      code: ./src\n      environment: azureml:env:1\n";
    let dep = "name: dep\nendpoint_name: ep\ntype: pipeline\ncomponent: ./pc.yml\n";
    let p = props(Kind::BatchDeployment, &[("d.yml", dep), ("pc.yml", component)]);
    assert!(p["deploymentConfiguration"].get("settings").is_none(), "{p}");
    let with = format!("{dep}settings:\n  default_compute: cluster\n");
    let p = props(Kind::BatchDeployment, &[("d.yml", &with), ("pc.yml", component)]);
    assert_eq!(
        p["deploymentConfiguration"]["settings"],
        json!({"default_compute": "cluster"})
    );
}

#[test]
fn an_automl_node_keeps_the_outputs_mapping_it_is_given() {
    let pipeline = |outputs: &str| {
        format!(
            "type: pipeline\ninputs:\n  t:\n    type: mltable\n    path: azureml://datastores/d/paths/train/\n\
             jobs:\n  text:\n    type: automl\n    task: text_classification\n    primary_metric: accuracy\n    \
             target_column_name: y\n    compute: azureml:gpu\n    training_data: ${{{{parent.inputs.t}}}}\n    \
             validation_data: ${{{{parent.inputs.t}}}}\n{outputs}"
        )
    };
    let node = |o: &str| props(Kind::Job, &[("p.yml", &pipeline(o))])["jobs"]["text"].clone();
    assert_eq!(node("    outputs: {}\n")["outputs"], json!({}));
    assert!(node("").get("outputs").is_none());
    assert_eq!(
        node("    outputs:\n      best_model:\n        type: mlflow_model\n")["outputs"],
        json!({"best_model": {"job_output_type": "mlflow_model"}})
    );
}

#[test]
fn a_spark_component_without_code_uploads_its_folder() {
    let component = |code: &str| {
        format!(
            "type: spark\nname: sc\nversion: 1\n{code}entry:\n  file: main.py\nconf:\n  spark.driver.cores: 1\n  \
             spark.driver.memory: 2g\n  spark.executor.cores: 2\n  spark.executor.memory: 2g\n  \
             spark.executor.instances: 1\n"
        )
    };
    let code_id = format!("azureml:{WS}/codes/code-1/versions/1");
    let spec = |c: &str| props(Kind::Component, &[("c.yml", &component(c))])["componentSpec"].clone();
    assert_eq!(spec("")["code"], json!(code_id));
    assert_eq!(spec("code: ./src\n")["code"], json!(code_id));
    // a command component has no such default
    let command = "name: cc\nversion: 1\ncommand: python main.py\nenvironment: azureml:env:1\n";
    let p = props(Kind::Component, &[("c.yml", command)]);
    assert!(p["componentSpec"].get("code").is_none(), "{p}");
}

#[test]
fn a_spark_node_takes_compute_or_resources_not_both() {
    let pipeline = |extra: &str| {
        format!(
            "type: pipeline\njobs:\n  s:\n    type: spark\n    code: ./src\n    entry:\n      file: main.py\n    \
             conf:\n      spark.driver.cores: 1\n      spark.driver.memory: 2g\n      spark.executor.cores: 2\n      \
             spark.executor.memory: 2g\n      spark.executor.instances: 1\n    resources:\n      \
             instance_type: standard_e4s_v3\n      runtime_version: '3.4'\n{extra}"
        )
    };
    rejects(
        render(Kind::Job, &[("p.yml", &pipeline("    compute: azureml:pool\n"))]),
        &["jobs.s.compute", "Only one of either compute or resources"],
    );
    let p = props(Kind::Job, &[("p.yml", &pipeline(""))]);
    assert_eq!(p["jobs"]["s"]["type"], json!("spark"));
}

#[test]
fn a_pipeline_job_from_a_component_file_needs_a_compute_for_its_nodes() {
    let component = |compute: &str| {
        format!(
            "type: pipeline\nname: pc\njobs:\n  main:\n    type: command\n{compute}    component:\n      \
             command: python main.py\n      code: ../src\n      environment: azureml:env:1\n"
        )
    };
    let job = "type: pipeline\ncomponent: c/pc.yml\n";
    rejects(
        render(Kind::Job, &[("j.yml", job), ("c/pc.yml", &component(""))]),
        &["component.jobs.main.compute", "Compute not set"],
    );
    // the job's compute, its default compute or the node's own compute will do
    for (job, comp) in [
        (
            "type: pipeline\ncomponent: c/pc.yml\ncompute: azureml:cpu\n",
            component(""),
        ),
        (
            "type: pipeline\ncomponent: c/pc.yml\nsettings:\n  default_compute: azureml:cpu\n",
            component(""),
        ),
        (
            "type: pipeline\ncomponent: c/pc.yml\n",
            component("    compute: azureml:cpu\n"),
        ),
    ] {
        render(Kind::Job, &[("j.yml", job), ("c/pc.yml", &comp)]).unwrap();
    }
}

#[test]
fn an_inline_command_component_of_a_node_needs_command_and_environment() {
    let component = |env: &str| {
        format!(
            "type: pipeline\nname: pc\njobs:\n  main:\n    type: command\n    component:\n      \
             command: python main.py\n      code: ./src\n{env}"
        )
    };
    rejects(
        render(Kind::Component, &[("pc.yml", &component(""))]),
        &[
            "jobs.main.component.environment",
            "Missing data for required field",
        ],
    );
    props(
        Kind::Component,
        &[("pc.yml", &component("      environment: azureml:env:1\n"))],
    );
    // the same node in a pipeline job
    let job = "type: pipeline\ncompute: azureml:cpu\njobs:\n  main:\n    type: command\n    component:\n      \
        environment: azureml:env:1\n";
    rejects(
        render(Kind::Job, &[("j.yml", job)]),
        &["jobs.main.component.command"],
    );
}

#[test]
fn a_node_input_path_holding_a_binding_must_be_the_binding_alone() {
    let pipeline = |path: &str| {
        format!(
            "type: pipeline\ncompute: azureml:cpu\njobs:\n  a:\n    type: command\n    command: echo hi > ${{{{outputs.o}}}}\n    \
             code: src\n    environment: azureml:env:1\n    outputs:\n      o:\n        type: uri_folder\n  \
             b:\n    type: command\n    command: ls ${{{{inputs.i}}}}\n    code: src\n    environment: azureml:env:1\n    \
             inputs:\n      i:\n        type: uri_folder\n        path: {path}\n"
        )
    };
    for bad in ["${{parent.jobs.a.outputs.o}}/", "./${{parent.jobs.a.outputs.o}}"] {
        rejects(
            render(Kind::Job, &[("p.yml", &pipeline(bad))]),
            &["jobs.b.inputs.i", "the binding alone"],
        );
    }
    let p = props(Kind::Job, &[("p.yml", &pipeline("${{parent.jobs.a.outputs.o}}"))]);
    assert_eq!(
        p["jobs"]["b"]["inputs"]["i"],
        json!({"value": "${{parent.jobs.a.outputs.o}}", "job_input_type": "literal"})
    );
}
