//! The two-phase API as the tasks use it.

use crate::support::fixed;

use std::collections::BTreeMap;
use std::fs;

use amlops_spec::{
    AssetType, Kind, PlanOptions, Resolver, Scope, SetOverride, SpecError, Upload, UploadOutcome, UploadRole,
    plan_file, plan_str,
};
use serde_json::json;

#[derive(Default)]
struct Recording {
    seen: Vec<Upload>,
    lookups: Vec<String>,
}

impl Resolver for Recording {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        self.seen.push(upload.clone());
        Ok(fixed::upload_outcome(upload))
    }
    fn latest_version(&mut self, asset: AssetType, name: &str) -> Result<String, String> {
        self.lookups.push(format!("{}/{name}", asset.collection()));
        Ok("7".into())
    }
}

fn scope() -> Scope {
    Scope {
        subscription: "sub".into(),
        resource_group: "rg".into(),
        workspace: "ws".into(),
        location: "westeurope".into(),
    }
}

const WS: &str =
    "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

#[test]
fn command_job_plan_lists_uploads_then_renders_dependencies_first() {
    let dir = tempfile::tempdir().unwrap();
    let exp = dir.path().join("exp1");
    fs::create_dir_all(exp.join("src")).unwrap();
    fs::create_dir_all(exp.join("data")).unwrap();
    fs::write(exp.join("src/train.py"), "print(1)").unwrap();
    let file = exp.join("job.yml");
    fs::write(
        &file,
        "$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\n\
         command: python train.py --lr ${{inputs.lr}} --d ${{inputs.d}}\n\
         code: ./src/\n\
         inputs:\n  lr: 0.5\n  d:\n    type: uri_folder\n    path: ./data\n    mode: ro_mount\n\
         environment:\n  image: python:3.11\n\
         compute: azureml:cpu\n\
         tags:\n  team: ml\n",
    )
    .unwrap();
    let mut tags = BTreeMap::new();
    tags.insert("governance".to_string(), "approved".to_string());
    let opts = PlanOptions {
        scope: scope(),
        job_name: Some("run_42".into()),
        tags,
        ..PlanOptions::default()
    };
    let plan = plan_file(&file, opts).unwrap();
    assert_eq!(plan.kind(), Kind::Job);
    let ups = plan.uploads();
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[0].role, UploadRole::Code);
    assert_eq!(ups[0].rel_path, "src");
    assert_eq!(ups[0].local_path, exp.join("src"));
    assert_eq!(ups[1].role, UploadRole::JobInput);
    assert_eq!(ups[1].basename, "data");

    let mut r = Recording::default();
    let reqs = plan.render(&mut r).unwrap();
    assert_eq!(r.seen.len(), 2);
    let paths: Vec<&str> = reqs.iter().map(|q| q.path.as_str()).collect();
    assert_eq!(paths[0], format!("{WS}/codes/code-1/versions/1"));
    assert!(paths[1].starts_with(&format!("{WS}/environments/CliV2AnonymousEnvironment/versions/")));
    assert_eq!(paths[2], format!("{WS}/jobs/run_42"));
    let p = &reqs[2].body["properties"];
    assert_eq!(p["codeId"], json!(format!("{WS}/codes/code-1/versions/1")));
    assert_eq!(p["computeId"], json!(format!("{WS}/computes/cpu")));
    assert_eq!(
        p["inputs"]["lr"],
        json!({"value": "0.5", "jobInputType": "literal"})
    );
    assert_eq!(
        p["inputs"]["d"],
        json!({"uri": "azureml://datastores/workspaceblobstore/paths/LocalUpload/h1/data/", "mode": "ReadOnlyMount", "jobInputType": "uri_folder"})
    );
    assert_eq!(p["tags"], json!({"team": "ml", "governance": "approved"}));
    assert_eq!(p["experimentName"], json!("exp1"));
    assert_eq!(p["displayName"], json!("run_42"));
    // anonymous environment version = sha256(sha256(image))
    let inner = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"python:3.11"));
    let outer = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(inner.as_bytes()));
    assert!(paths[1].ends_with(&outer));
}

#[test]
fn latest_references_are_looked_up_and_overrides_apply() {
    let yaml = "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n\
                name: blue\nendpoint_name: ep-one\nmodel: azureml:my-model@latest\n\
                environment: azureml:env:3\ninstance_type: Standard_DS3_v2\ninstance_count: 1\n";
    let opts = PlanOptions {
        scope: scope(),
        overrides: vec![SetOverride::parse("instance_count=3").unwrap()],
        ..PlanOptions::default()
    };
    let plan = plan_str(yaml, std::path::Path::new("d.yml"), opts).unwrap();
    assert!(plan.uploads().is_empty());
    assert_eq!(plan.lookups().len(), 1);
    assert_eq!(plan.lookups()[0].name, "my-model");
    let mut r = Recording::default();
    let reqs = plan.render(&mut r).unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].path,
        format!("{WS}/onlineEndpoints/ep-one/deployments/blue")
    );
    let b = &reqs[0].body;
    assert_eq!(b["sku"], json!({"name": "Default", "capacity": 3}));
    assert_eq!(
        b["properties"]["model"],
        json!(format!("{WS}/models/my-model/versions/7"))
    );
    assert_eq!(
        b["properties"]["environmentId"],
        json!(format!("{WS}/environments/env/versions/3"))
    );
    assert_eq!(b["location"], json!("westeurope"));
    assert_eq!(r.lookups, vec!["models/my-model".to_string()]);
}

// `data_collector` survives the conversion as the SDK sends it: collections with their mode and data asset,
// the top-level `sampling_rate` copied into every collection, `rolling_rate` and `request_logging` camel-cased.
#[test]
fn deployment_data_collector_is_kept() {
    let yaml = "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineDeployment.schema.json\n\
                name: blue\nendpoint_name: churn\nmodel: azureml:m:1\nenvironment: azureml:env:3\n\
                instance_type: Standard_DS3_v2\ninstance_count: 1\n\
                data_collector:\n  sampling_rate: 0.5\n  rolling_rate: hour\n\
                \x20 request_logging:\n    capture_headers: [x-id]\n\
                \x20 collections:\n    model_inputs:\n      enabled: 'true'\n    model_outputs:\n      enabled: 'false'\n";
    let opts = PlanOptions {
        scope: scope(),
        ..PlanOptions::default()
    };
    let plan = plan_str(yaml, std::path::Path::new("d.yml"), opts).unwrap();
    let reqs = plan.render(&mut Recording::default()).unwrap();
    let main = reqs.last().unwrap();
    assert_eq!(
        main.body["properties"]["dataCollector"],
        json!({
            "collections": {
                "model_inputs": {
                    "dataCollectionMode": "enabled",
                    "dataId": format!("{WS}/data/churn-blue-model_inputs/versions/1"),
                    "samplingRate": 0.5
                },
                "model_outputs": {"dataCollectionMode": "disabled", "samplingRate": 0.5}
            },
            "rollingRate": "hour",
            "requestLogging": {"captureHeaders": ["x-id"]}
        })
    );
    // The enabled collection's data asset is registered first.
    assert!(
        reqs.iter()
            .any(|r| r.path == format!("{WS}/data/churn-blue-model_inputs/versions/1"))
    );
}

#[test]
fn errors_name_file_line_and_field() {
    let err = plan_str(
        "name: x\nauth_mode: key\n  bad: [",
        std::path::Path::new("ep.yml"),
        PlanOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, SpecError::Syntax { .. }), "{err}");
    assert!(err.location().is_some());

    let yaml = "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\n\
                name: my-endpoint\nauth_mode: key\nfoo: 1\n";
    let err = plan_str(yaml, std::path::Path::new("ep.yml"), PlanOptions::default()).unwrap_err();
    assert!(matches!(err, SpecError::UnknownField { .. }), "{err}");
    assert_eq!(err.location().map(|l| l.line), Some(4));
    assert!(err.to_string().contains("ep.yml:4:1"), "{err}");
    assert!(err.to_string().contains("Unknown field"), "{err}");

    let yaml =
        "$schema: https://azuremlschemas.azureedge.net/latest/managedOnlineEndpoint.schema.json\nname: a_b\n";
    let err = plan_str(yaml, std::path::Path::new("ep.yml"), PlanOptions::default()).unwrap_err();
    assert!(err.to_string().contains("ep.yml:2:1: field `name`"), "{err}");

    let err = plan_str("a: 1\n", std::path::Path::new("x.yml"), PlanOptions::default()).unwrap_err();
    assert!(matches!(err, SpecError::UnknownKind { .. }), "{err}");
}

#[test]
fn component_and_pipeline_files_nest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("pipe");
    fs::create_dir_all(d.join("comp/src")).unwrap();
    fs::write(
        d.join("comp/c.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
         name: my_comp\ntype: command\ncode: ./src\nenvironment: azureml:env@latest\ncommand: echo hi\n\
         inputs:\n  n:\n    type: number\n    default: 1\n",
    )
    .unwrap();
    fs::write(
        d.join("p.yml"),
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\n\
         type: pipeline\nsettings:\n  default_compute: azureml:cpu\n\
         jobs:\n  a:\n    type: command\n    component: ./comp/c.yml\n    inputs:\n      n: 2\n",
    )
    .unwrap();
    let opts = PlanOptions {
        scope: scope(),
        job_name: Some("p1".into()),
        ..PlanOptions::default()
    };
    let plan = plan_file(&d.join("p.yml"), opts).unwrap();
    assert_eq!(plan.uploads().len(), 1);
    assert_eq!(plan.uploads()[0].rel_path, "comp/src");
    let reqs = plan.render(&mut Recording::default()).unwrap();
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    assert!(reqs[0].path.contains("/codes/"));
    assert!(reqs[1].path.contains("/components/azureml_anonymous/versions/"));
    let spec = &reqs[1].body["properties"]["componentSpec"];
    assert_eq!(
        spec["environment"],
        json!(format!("azureml:{WS}/environments/env/versions/7"))
    );
    assert_eq!(spec["inputs"]["n"]["default"], json!("1.0"));
    let job = &reqs[2].body["properties"];
    assert_eq!(job["jobType"], json!("Pipeline"));
    assert_eq!(
        job["jobs"]["a"]["inputs"]["n"],
        json!({"value": "2", "job_input_type": "literal"})
    );
    assert_eq!(job["jobs"]["a"]["componentId"], json!(reqs[1].path));
    assert_eq!(
        job["settings"]["default_compute"],
        json!(format!("{WS}/computes/cpu"))
    );
}

#[test]
fn additional_includes_are_planned_and_a_missing_one_names_the_yaml_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::create_dir_all(d.join("comp/src")).unwrap();
    fs::create_dir_all(d.join("libs/common")).unwrap();
    fs::write(d.join("comp/src/a.py"), "x").unwrap();
    let yaml = "$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json\n\
                name: my_comp\ntype: command\ncode: ./src\nenvironment: azureml:env:1\ncommand: echo hi\n\
                additional_includes:\n  - ../libs/common\n  - ../libs/missing.py\n";
    fs::write(d.join("comp/c.yml"), yaml).unwrap();
    let err = plan_file(&d.join("comp/c.yml"), PlanOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SpecError::Schema { .. }), "{text}");
    assert!(text.contains("c.yml:7:1: field `additional_includes`"), "{text}");
    assert!(text.contains("`../libs/missing.py`"), "{text}");

    fs::write(d.join("libs/missing.py"), "y").unwrap();
    let plan = plan_file(&d.join("comp/c.yml"), PlanOptions::default()).unwrap();
    let up = &plan.uploads()[0];
    assert_eq!(up.basename, "code_with_additional_includes");
    let canonical: Vec<_> = up
        .additional_includes
        .iter()
        .map(|p| p.canonicalize().unwrap())
        .collect();
    assert_eq!(
        canonical,
        [
            d.join("libs/common").canonicalize().unwrap(),
            d.join("libs/missing.py").canonicalize().unwrap()
        ]
    );
}
