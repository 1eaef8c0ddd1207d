//! The task manifests, the extension manifest, the icons, the generated docs and the example pipelines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use xtask::manifest::{self, TaskManifest, visible_rule_inputs};
use xtask::{docs, package, png};

fn tasks() -> Vec<TaskManifest> {
    let tasks = manifest::repo_tasks().expect("task manifests load");
    assert_eq!(tasks.len(), 4, "four tasks");
    tasks
}

fn schema_validator() -> jsonschema::Validator {
    let path = xtask::repo_root().join("xtask/tests/data/tasks.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft4::new(&schema).expect("the schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

#[test]
fn every_task_json_validates_against_the_schema() {
    let validator = schema_validator();
    for task in tasks() {
        let errors = schema_errors(&validator, &task.json);
        assert!(errors.is_empty(), "{}: {errors:#?}", task.folder);
    }
}

#[test]
fn the_schema_check_rejects_broken_manifests() {
    let validator = schema_validator();
    let task = manifest::task_by_name("AzureMLTrain").unwrap();
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "name with a space",
            Box::new(|j| j["name"] = "Azure ML Train".into()),
        ),
        ("bad id", Box::new(|j| j["id"] = "not-a-guid".into())),
        ("unknown property", Box::new(|j| j["colour"] = "blue".into())),
        (
            "bad input name",
            Box::new(|j| j["inputs"][0]["name"] = "azure.subscription".into()),
        ),
        (
            "unknown handler",
            Box::new(|j| j["execution"]["Process"] = serde_json::json!({"target": "x.exe"})),
        ),
        (
            "bad input type",
            Box::new(|j| j["inputs"][3]["type"] = "text".into()),
        ),
    ];
    for (what, mutate) in cases {
        let mut json = task.json.clone();
        mutate(&mut json);
        assert!(
            !schema_errors(&validator, &json).is_empty(),
            "{what} was accepted"
        );
    }
}

/// The published task ids: changing one would create a different task in every organisation.
const TASK_IDS: [(&str, &str); 4] = [
    ("AzureMLTrain", "6e737a5b-58bb-4157-928d-3c8be3d3bb09"),
    ("AzureMLRegister", "f6ac1cb3-aaf4-4b85-99d5-eea2dfcc5389"),
    ("AzureMLDeploy", "a9cad536-0348-4215-9cc6-bf36c7fa3dd2"),
    ("AzureMLGate", "ac2c771b-80a7-483a-887a-1c7aa426aa09"),
];

#[test]
fn names_ids_and_binaries_are_stable_and_unique() {
    let tasks = tasks();
    let ids: BTreeSet<String> = tasks.iter().map(|t| t.id.to_lowercase()).collect();
    assert_eq!(ids.len(), tasks.len(), "task ids are unique");
    let names: BTreeSet<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), tasks.len(), "task names are unique");
    for (name, id) in TASK_IDS {
        let task = tasks
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("task {name}"));
        assert_eq!(task.id, id, "{name} keeps its id");
        assert_eq!(task.folder, format!("{name}V{}", task.version.0));
        let suffix = name.trim_start_matches("AzureML").to_lowercase();
        assert_eq!(task.binary, format!("amlops-{suffix}"));
        assert!(
            task.friendly_name.chars().count() <= 40,
            "{name}: friendlyName {:?} is longer than 40",
            task.friendly_name
        );
        assert!(
            ["Deploy", "Utility"].contains(&task.category.as_str()),
            "{name}: category"
        );
        assert!(!task.instance_name_format.is_empty());
    }
}

#[test]
fn execution_uses_node24_and_node20_with_the_launcher() {
    for task in tasks() {
        let handlers: BTreeMap<&str, &str> = task
            .execution
            .iter()
            .map(|(h, t)| (h.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            handlers,
            BTreeMap::from([("Node20_1", "launcher.js"), ("Node24", "launcher.js")]),
            "{}",
            task.folder
        );
        // The target is copied next to task.json at packaging time, from task-manifests/.
        for (_, target) in &task.execution {
            assert!(
                xtask::manifests_dir().join(target).is_file(),
                "{}: target {target} exists",
                task.folder
            );
        }
        // Node20_1 needs agent 4.248.0; older agents skip the Node24 handler they do not know.
        assert_eq!(task.minimum_agent_version, "4.248.0", "{}", task.folder);
    }
}

/// The inputs each issue names (the interface), plus the shared notification inputs.
fn expected_inputs(name: &str) -> Vec<&'static str> {
    let mut inputs = vec!["azureSubscription", "resourceGroup", "workspace"];
    inputs.extend(match name {
        "AzureMLTrain" => vec![
            "jobFile",
            "allowPathsOutsideRepository",
            "overrides",
            "jobName",
            "experimentName",
            "wait",
            "timeoutMinutes",
            "cancelOnTimeout",
            "streamLogs",
        ],
        "AzureMLRegister" => vec![
            "assetFile",
            "allowPathsOutsideRepository",
            "modelName",
            "modelPath",
            "modelType",
            "version",
            "description",
            "tags",
            "properties",
            "reason",
            "jobName",
        ],
        "AzureMLDeploy" => vec![
            "action",
            "endpointFile",
            "endpointName",
            "authMode",
            "deploymentFile",
            "model",
            "instanceType",
            "instanceCount",
            "environment",
            "codePath",
            "scoringScript",
            "allowPathsOutsideRepository",
            "deploymentName",
            "strategy",
            "trafficSteps",
            "stepWaitSeconds",
            "mirrorPercent",
            "analysis",
            "analysisMinRequests",
            "analysisInconclusive",
            "timeoutMinutes",
            "smokeTestRequest",
            "smokeTestExpectStatus",
            "smokeTestExpect",
            "rollbackOnFailure",
            "deleteFailedDeployment",
            "keepPreviousDeployments",
            "dataCollection",
            "dataCollectionSamplingRate",
        ],
        "AzureMLGate" => vec![
            "rules",
            "rulesFile",
            "candidateJob",
            "candidateModel",
            "championEndpoint",
            "championModel",
            "championTag",
            "requireChampion",
            "baselineData",
            "targetData",
            "targetWindow",
            "baselineInput",
            "driftColumns",
            "categoricalColumns",
            "driftThresholds",
            "mode",
        ],
        other => panic!("unexpected task {other}"),
    });
    inputs.extend(["notify", "notifyOn", "notifySecret", "failOnNotifyError"]);
    inputs
}

fn expected_outputs(name: &str) -> Vec<&'static str> {
    match name {
        "AzureMLTrain" => vec!["jobName", "jobStatus", "studioUrl"],
        "AzureMLRegister" => {
            vec![
                "assetName",
                "assetVersion",
                "assetId",
                "modelName",
                "modelVersion",
                "modelId",
                "modelUri",
            ]
        }
        "AzureMLDeploy" => vec![
            "endpointName",
            "deploymentName",
            "scoringUri",
            "previousTraffic",
            "traffic",
            "analysisPassed",
            "failedAnalysis",
        ],
        "AzureMLGate" => vec!["gatePassed", "failedRules", "driftedColumns"],
        other => panic!("unexpected task {other}"),
    }
}

#[test]
fn inputs_and_outputs_are_the_interface_the_issues_name() {
    for task in tasks() {
        let names: Vec<&str> = task.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, expected_inputs(&task.name), "{}", task.folder);
        let outputs: Vec<&str> = task.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(outputs, expected_outputs(&task.name), "{}", task.folder);
    }
}

#[test]
fn defaults_and_types_the_issues_fix() {
    let check = |task: &str, input: &str, ty: &str, default: Option<&str>| {
        let t = manifest::task_by_name(task).unwrap();
        let i = t.input(input).unwrap_or_else(|| panic!("{task}.{input}"));
        assert_eq!(i.input_type, ty, "{task}.{input} type");
        assert_eq!(i.default.as_deref(), default, "{task}.{input} default");
    };
    for task in ["AzureMLTrain", "AzureMLRegister", "AzureMLDeploy", "AzureMLGate"] {
        check(task, "azureSubscription", "connectedService:AzureRM", None);
        check(task, "notify", "multiLine", Some(""));
        check(task, "failOnNotifyError", "boolean", Some("false"));
    }
    check("AzureMLTrain", "wait", "boolean", Some("true"));
    check("AzureMLTrain", "timeoutMinutes", "int", Some("0"));
    check("AzureMLTrain", "cancelOnTimeout", "boolean", Some("true"));
    check("AzureMLTrain", "streamLogs", "boolean", Some("true"));
    check("AzureMLTrain", "overrides", "multiLine", Some(""));
    check("AzureMLRegister", "modelType", "pickList", Some("custom_model"));
    check("AzureMLRegister", "tags", "multiLine", Some(""));
    check("AzureMLRegister", "properties", "multiLine", Some(""));
    // azureml:// URIs must not be turned into repository paths by the agent: not filePath.
    check("AzureMLRegister", "modelPath", "string", Some(""));
    check("AzureMLDeploy", "authMode", "pickList", Some("key"));
    check("AzureMLDeploy", "strategy", "pickList", Some("blueGreen"));
    check("AzureMLDeploy", "smokeTestExpectStatus", "int", Some("200"));
    check("AzureMLDeploy", "rollbackOnFailure", "boolean", Some("true"));
    check("AzureMLDeploy", "deleteFailedDeployment", "boolean", Some("true"));
    check("AzureMLDeploy", "keepPreviousDeployments", "int", Some("1"));
    check("AzureMLGate", "mode", "pickList", Some("fail"));
    check("AzureMLGate", "requireChampion", "boolean", Some("false"));
    check("AzureMLGate", "baselineData", "string", Some(""));
    check("AzureMLGate", "driftThresholds", "multiLine", Some(""));
    let modes = manifest::task_by_name("AzureMLDeploy").unwrap();
    let options: Vec<&str> = modes
        .input("strategy")
        .unwrap()
        .options
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(options, ["replace", "blueGreen", "canary"]);
}

#[test]
fn rules_groups_pick_lists_and_bindings_refer_to_what_exists() {
    for task in tasks() {
        let f = &task.folder;
        let inputs: BTreeSet<&str> = task.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs.len(), task.inputs.len(), "{f}: input names are unique");
        let groups: BTreeSet<&str> = task.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(groups.len(), task.groups.len(), "{f}: group names are unique");

        let mut rules: Vec<(String, &str)> = Vec::new();
        for input in &task.inputs {
            if let Some(rule) = &input.visible_rule {
                rules.push((format!("input {}", input.name), rule));
            }
            if let Some(group) = &input.group {
                assert!(
                    groups.contains(group.as_str()),
                    "{f}: input {} is in unknown group {group}",
                    input.name
                );
            }
            assert!(
                !input.label.is_empty() && !input.help.is_empty(),
                "{f}: {} has a label and help",
                input.name
            );
            if input.input_type == "pickList" || input.input_type == "radio" {
                let editable = task.json["inputs"]
                    .as_array()
                    .and_then(|a| a.iter().find(|i| i["name"] == input.name.as_str()))
                    .is_some_and(|i| i["properties"]["EditableOptions"] == "True");
                let bound = task.json["dataSourceBindings"]
                    .as_array()
                    .is_some_and(|b| b.iter().any(|b| b["target"] == input.name.as_str()));
                assert!(
                    editable || !input.options.is_empty(),
                    "{f}: {} has options",
                    input.name
                );
                assert!(
                    !editable || bound || !input.options.is_empty(),
                    "{f}: {} has a source",
                    input.name
                );
                if let Some(default) = input.default.as_deref().filter(|d| !d.is_empty()) {
                    assert!(
                        editable || input.options.iter().any(|(k, _)| k == default),
                        "{f}: default {default} of {} is an option",
                        input.name
                    );
                }
            }
        }
        for group in &task.groups {
            if let Some(rule) = &group.visible_rule {
                rules.push((format!("group {}", group.name), rule));
            }
            assert!(
                task.inputs
                    .iter()
                    .any(|i| i.group.as_deref() == Some(group.name.as_str())),
                "{f}: group {} is not empty",
                group.name
            );
        }
        for (owner, rule) in rules {
            let names = visible_rule_inputs(rule).unwrap_or_else(|e| panic!("{f}: {owner}: {e}"));
            for name in names {
                assert!(
                    inputs.contains(name.as_str()),
                    "{f}: {owner}: visibleRule names unknown input {name}"
                );
            }
        }

        let variables = |text: &str| -> Vec<String> {
            text.split("$(")
                .skip(1)
                .filter_map(|rest| rest.split(')').next())
                .map(str::to_string)
                .collect()
        };
        for name in variables(&task.instance_name_format) {
            assert!(
                inputs.contains(name.as_str()),
                "{f}: instanceNameFormat names unknown input {name}"
            );
        }
        let bindings = task.json["dataSourceBindings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let targets: BTreeSet<&str> = bindings.iter().filter_map(|b| b["target"].as_str()).collect();
        for picker in ["resourceGroup", "workspace"] {
            assert!(targets.contains(picker), "{f}: {picker} has a picker");
        }
        for binding in &bindings {
            let target = binding["target"].as_str().unwrap();
            assert!(
                inputs.contains(target),
                "{f}: binding targets unknown input {target}"
            );
            let endpoint = binding["endpointId"].as_str().unwrap();
            let conn = variables(endpoint);
            assert_eq!(conn.len(), 1, "{f}: endpointId {endpoint}");
            assert_eq!(
                task.input(&conn[0]).unwrap().input_type,
                "connectedService:AzureRM"
            );
            let url = binding["endpointUrl"].as_str().unwrap();
            assert!(url.starts_with("{{{endpoint.url}}}"), "{f}: {url}");
            assert!(url.contains("api-version="), "{f}: {url}");
            for name in variables(url) {
                assert!(
                    inputs.contains(name.as_str()),
                    "{f}: binding URL names unknown input {name}"
                );
                assert_ne!(name, target, "{f}: a picker cannot depend on itself");
            }
        }
    }
}

#[test]
fn endpoint_pickers_list_online_endpoints() {
    for (task, input) in [
        ("AzureMLDeploy", "endpointName"),
        ("AzureMLGate", "championEndpoint"),
    ] {
        let t = manifest::task_by_name(task).unwrap();
        let binding = t.json["dataSourceBindings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["target"] == input)
            .unwrap_or_else(|| panic!("{task}.{input} picker"))
            .clone();
        let url = binding["endpointUrl"].as_str().unwrap();
        assert!(url.contains("/workspaces/$(workspace)/onlineEndpoints?"), "{url}");
        assert!(url.contains("/resourceGroups/$(resourceGroup)/"), "{url}");
    }
}

#[test]
fn icons_are_32_by_32_pngs() {
    for task in tasks() {
        let bytes = std::fs::read(task.dir.join("icon.png")).unwrap();
        assert_eq!(png::dimensions(&bytes), Ok((32, 32)), "{}", task.folder);
    }
    let ext = std::fs::read(xtask::manifests_dir().join("images/extension-icon.png")).unwrap();
    assert_eq!(png::dimensions(&ext), Ok((128, 128)));
}

#[test]
fn the_extension_contributes_every_task_folder() {
    let dir = xtask::manifests_dir();
    let ext = package::read_extension(&dir).unwrap();
    assert_eq!(ext["manifestVersion"], 1);
    assert_eq!(ext["targets"][0]["id"], "Microsoft.VisualStudio.Services");
    for key in ["id", "publisher", "version", "name"] {
        assert!(ext[key].as_str().is_some_and(|s| !s.is_empty()), "{key}");
    }
    let contributed = package::contributed_task_paths(&ext);
    let mut folders: Vec<String> = contributed
        .iter()
        .map(|p| p.trim_start_matches("tasks/").to_string())
        .collect();
    folders.sort();
    let mut expected: Vec<String> = tasks().into_iter().map(|t| t.folder).collect();
    expected.sort();
    assert_eq!(folders, expected);
    let files: Vec<&str> = ext["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    for path in &contributed {
        assert!(files.contains(&path.as_str()), "{path} is in files");
    }
    for c in ext["contributions"].as_array().unwrap() {
        assert_eq!(c["targets"][0], "ms.vss-distributed-task.tasks");
    }
    assert!(dir.join("overview.md").is_file());
}

#[test]
fn generated_task_docs_are_up_to_date() {
    let tasks = tasks();
    let stale = docs::stale(&tasks, &docs::docs_dir());
    assert!(
        stale.is_empty(),
        "stale task docs (run `cargo xtask docs`): {stale:?}"
    );
}

#[test]
fn stale_docs_are_detected() {
    let tasks = tasks();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        docs::stale(&tasks, dir.path()).len(),
        4,
        "missing pages are stale"
    );
    docs::write_all(&tasks, dir.path()).unwrap();
    assert!(docs::stale(&tasks, dir.path()).is_empty());
    let page = dir.path().join("AzureMLGate.md");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, text.replace("gatePassed", "passed")).unwrap();
    assert_eq!(docs::stale(&tasks, dir.path()), vec![page]);
}

#[test]
fn docs_list_every_input_and_output() {
    for task in tasks() {
        let page = docs::render(&task);
        for input in &task.inputs {
            assert!(
                page.contains(&format!("| `{}` |", input.name)),
                "{}: {}",
                task.folder,
                input.name
            );
        }
        for output in &task.outputs {
            assert!(
                page.contains(&format!("| `{}` |", output.name)),
                "{}: {}",
                task.folder,
                output.name
            );
        }
        assert!(page.contains(&format!("- task: {}@{}", task.name, task.version.0)));
    }
}

/// Every `task: AzureML...@N` step in a YAML tree: (task reference, inputs).
fn task_steps(value: &serde_yaml::Value, out: &mut Vec<(String, serde_yaml::Mapping)>) {
    match value {
        serde_yaml::Value::Mapping(map) => {
            if let Some(task) = map.get("task").and_then(serde_yaml::Value::as_str) {
                let inputs = map
                    .get("inputs")
                    .and_then(serde_yaml::Value::as_mapping)
                    .cloned()
                    .unwrap_or_default();
                out.push((task.to_string(), inputs));
            }
            for (_, v) in map {
                task_steps(v, out);
            }
        }
        serde_yaml::Value::Sequence(seq) => seq.iter().for_each(|v| task_steps(v, out)),
        _ => {}
    }
}

#[test]
fn example_pipelines_use_only_declared_tasks_and_inputs() {
    let tasks = tasks();
    // docs/examples/*.yml and the YAML files of sample projects below it.
    fn yaml_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                yaml_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                out.push(path);
            }
        }
    }
    let dir = xtask::repo_root().join("docs/examples");
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    files.sort();
    for expected in ["pr-validation.yml", "release.yml", "training-ci.yml"] {
        assert!(
            files.contains(&dir.join(expected)),
            "docs/examples/{expected} exists"
        );
    }
    let mut used = BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut steps = Vec::new();
        task_steps(&yaml, &mut steps);
        for (reference, inputs) in steps {
            let (name, major) = reference.split_once('@').unwrap_or((reference.as_str(), ""));
            if !name.starts_with("AzureML") {
                continue; // another task, or an `az ml` YAML's own `task:` field
            }
            let f = file.display();
            let task = tasks
                .iter()
                .find(|t| t.name == name)
                .unwrap_or_else(|| panic!("{f}: unknown task {name}"));
            assert_eq!(major, task.version.0.to_string(), "{f}: {reference}");
            used.insert(name.to_string());
            for (key, value) in &inputs {
                let key = key
                    .as_str()
                    .unwrap_or_else(|| panic!("{f}: {name}: input name is not a string"));
                let input = task
                    .input(key)
                    .unwrap_or_else(|| panic!("{f}: {name} has no input {key}"));
                let literal = match value {
                    serde_yaml::Value::String(s) => s.clone(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    other => panic!("{f}: {name}.{key}: not a scalar: {other:?}"),
                };
                if input.input_type == "pickList" && !input.options.is_empty() && !literal.contains("$(") {
                    let editable = task.json["inputs"]
                        .as_array()
                        .and_then(|a| a.iter().find(|i| i["name"] == key))
                        .is_some_and(|i| i["properties"]["EditableOptions"] == "True");
                    for part in literal.split(',') {
                        assert!(
                            editable || input.options.iter().any(|(k, _)| k == part.trim()),
                            "{f}: {name}.{key}: {part} is not an option"
                        );
                    }
                }
            }
            for input in task
                .inputs
                .iter()
                .filter(|i| i.required && i.value_when_unset().is_empty())
            {
                assert!(
                    inputs.contains_key(input.name.as_str()),
                    "{f}: {name} lacks required input {}",
                    input.name
                );
            }
        }
    }
    let all: BTreeSet<String> = tasks.iter().map(|t| t.name.clone()).collect();
    assert_eq!(used, all, "the examples use every task");
}

#[test]
fn diff_helpers_compare_both_ways() {
    use xtask::manifest::InputSignature;
    let task = manifest::task_by_binary("amlops-train").unwrap();
    let mut sigs = task.input_signatures();
    assert!(task.diff_inputs(&sigs).is_empty());
    sigs.retain(|s| s.name != "streamLogs");
    sigs.push(InputSignature {
        name: "extra".into(),
        required: false,
        default: None,
    });
    sigs.iter_mut().find(|s| s.name == "wait").unwrap().default = Some("false".into());
    sigs.iter_mut().find(|s| s.name == "jobFile").unwrap().required = false;
    let problems = task.diff_inputs(&sigs);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("streamLogs") && p.contains("does not read"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("extra") && p.contains("not declared"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("wait") && p.contains("default"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("jobFile") && p.contains("required"))
    );

    assert!(
        task.diff_outputs(&["jobName", "jobStatus", "studioUrl"])
            .is_empty()
    );
    let problems = task.diff_outputs(&["jobName", "status"]);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(manifest::task_by_binary("amlops-nothing").is_err());
}

#[test]
fn visible_rules_parse() {
    assert_eq!(visible_rule_inputs("strategy = canary").unwrap(), ["strategy"]);
    assert_eq!(
        visible_rule_inputs("a = x && b != \"\" || c NotEndsWith .yml").unwrap(),
        ["a", "b", "c"]
    );
    assert!(visible_rule_inputs("strategy").is_err());
    assert!(visible_rule_inputs("strategy ~ canary").is_err());
    assert!(visible_rule_inputs("a.b = c").is_err());
}
