//! Property test: arbitrary YAML (random text, and random documents built from the fields the
//! converter knows) never panics phase 1 or phase 2, for every kind.

use std::path::Path;

use amlops_spec::{AssetType, Kind, PlanOptions, Resolver, Upload, UploadOutcome, plan_str};
use proptest::prelude::*;
use serde_json::{Map, Value};

struct Fake;

impl Resolver for Fake {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        Ok(if upload.role.is_code() {
            UploadOutcome::Code {
                name: "c".into(),
                version: "1".into(),
                code_uri: "https://a.blob.core.windows.net/c/x".into(),
                hash: "h".into(),
            }
        } else {
            UploadOutcome::Blob {
                datastore: "ds".into(),
                account: "a".into(),
                container: "c".into(),
                path: "LocalUpload/h/x".into(),
                hash: "h".into(),
            }
        })
    }
    fn latest_version(&mut self, _a: AssetType, _n: &str) -> Result<String, String> {
        Ok("3".into())
    }
}

const KEYS: &[&str] = &[
    "$schema",
    "type",
    "name",
    "version",
    "command",
    "code",
    "environment",
    "image",
    "conda_file",
    "build",
    "path",
    "inputs",
    "outputs",
    "jobs",
    "component",
    "trial",
    "search_space",
    "limits",
    "timeout",
    "compute",
    "settings",
    "model",
    "endpoint_name",
    "code_configuration",
    "scoring_script",
    "instance_count",
    "request_settings",
    "request_timeout_ms",
    "resources",
    "distribution",
    "services",
    "tags",
    "properties",
    "mode",
    "default",
    "min",
    "max",
    "sampling_algorithm",
    "objective",
    "identity",
    "auth_mode",
    "entry",
    "conf",
    "task",
    "training_data",
    "values",
    "description",
    "display_name",
];

const STRINGS: &[&str] = &[
    "command",
    "pipeline",
    "sweep",
    "spark",
    "automl",
    "azureml:x:1",
    "azureml:x@latest",
    "azureml:",
    "azureml://registries/r/environments/e/versions/1",
    "azureml://registries/x",
    "./src",
    "..",
    ".",
    "/subscriptions/s/resourceGroups/g",
    "${{parent.inputs.a}}",
    "uri_folder",
    "uri_file",
    "mltable",
    "literal",
    "choice",
    "uniform",
    "ro_mount",
    "file:./c.yml",
    "python",
    "",
    "key",
    "kubernetes",
    "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json",
    "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop::sample::select(STRINGS).prop_map(|s| Value::String(s.to_string())),
        "[a-z_@:./{}$-]{0,12}".prop_map(Value::String),
    ]
}

fn doc() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6).prop_map(|kv| {
                Value::Object(
                    kv.into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

fn run_all_kinds(text: &str) {
    for kind in Kind::ALL.into_iter().map(Some).chain([None]) {
        let opts = PlanOptions {
            kind,
            job_name: Some("job".into()),
            ..PlanOptions::default()
        };
        if let Ok(plan) = plan_str(text, Path::new("/nonexistent-dir/file.yml"), opts) {
            let _ = plan.render(&mut Fake);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        run_all_kinds(&text);
    }

    #[test]
    fn random_documents_never_panic(d in doc()) {
        let text = serde_yaml::to_string(&d).unwrap_or_default();
        run_all_kinds(&text);
    }

    #[test]
    fn random_mappings_never_panic(m in prop::collection::vec((prop::sample::select(KEYS), doc()), 1..8)) {
        let obj: Map<String, Value> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let text = serde_yaml::to_string(&Value::Object(obj)).unwrap_or_default();
        run_all_kinds(&text);
    }
}
