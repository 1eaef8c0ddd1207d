//! The task manifests: `task-manifests/<Folder>/task.json` and `launcher.json`.
//!
//! For task engineers' tests:
//!
//! ```no_run
//! let task = xtask::manifest::task_by_binary("amlops-train").unwrap();
//! for input in &task.inputs {
//!     println!("{} {} required={} default={:?}", input.name, input.input_type, input.required, input.default);
//! }
//! let outputs: Vec<&str> = task.outputs.iter().map(|o| o.name.as_str()).collect();
//! # let _ = outputs;
//! ```

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::IoError;

/// A problem reading a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("no task in {} {what}", dir.display())]
    NotFound { dir: PathBuf, what: String },
}

/// One declared input of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    /// `string`, `boolean`, `int`, `pickList`, `multiLine`, `filePath`, `connectedService:AzureRM`, ...
    pub input_type: String,
    pub label: String,
    pub required: bool,
    /// `defaultValue` as the agent passes it (`true`/`false` for a JSON boolean); `None` when absent.
    pub default: Option<String>,
    pub help: String,
    pub group: Option<String>,
    pub visible_rule: Option<String>,
    /// pickList/radio options: (value, display name), in manifest order.
    pub options: Vec<(String, String)>,
}

impl InputSpec {
    /// The value the agent sets in `INPUT_<NAME>` when the pipeline does not give the input
    /// (the default, or the empty string).
    pub fn value_when_unset(&self) -> &str {
        self.default.as_deref().unwrap_or("")
    }
}

/// One declared output variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub name: String,
    pub description: String,
}

/// One input group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub display_name: String,
    pub visible_rule: Option<String>,
}

/// What a binary declares about one input, for [`TaskManifest::diff_inputs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSignature {
    pub name: String,
    pub required: bool,
    /// The default the binary applies when the input is empty (`None`: no default).
    pub default: Option<String>,
}

/// A task manifest with its launcher configuration.
#[derive(Debug, Clone)]
pub struct TaskManifest {
    /// The folder name under `task-manifests/`, e.g. `AzureMLTrainV1`.
    pub folder: String,
    pub dir: PathBuf,
    pub id: String,
    /// e.g. `AzureMLTrain` (YAML: `AzureMLTrain@1`).
    pub name: String,
    pub friendly_name: String,
    pub description: String,
    pub category: String,
    pub version: (u64, u64, u64),
    pub minimum_agent_version: String,
    pub instance_name_format: String,
    /// The binary file name from `launcher.json`, e.g. `amlops-train`.
    pub binary: String,
    pub groups: Vec<GroupSpec>,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    /// (handler, target), e.g. `("Node24", "launcher.js")`.
    pub execution: Vec<(String, String)>,
    /// The whole task.json.
    pub json: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawTask {
    id: String,
    name: String,
    friendly_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    version: RawVersion,
    #[serde(default)]
    minimum_agent_version: String,
    instance_name_format: String,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    inputs: Vec<RawInput>,
    #[serde(default)]
    output_variables: Vec<RawOutput>,
    #[serde(default)]
    execution: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawVersion {
    major: u64,
    minor: u64,
    patch: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawGroup {
    name: String,
    display_name: String,
    visible_rule: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawInput {
    name: String,
    #[serde(rename = "type")]
    input_type: String,
    label: String,
    #[serde(default)]
    required: bool,
    default_value: Option<Value>,
    #[serde(default)]
    help_mark_down: String,
    group_name: Option<String>,
    visible_rule: Option<String>,
    #[serde(default)]
    options: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct RawOutput {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct LauncherConfig {
    binary: String,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ManifestError> {
    let bytes = crate::read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|source| ManifestError::Json {
        path: path.to_path_buf(),
        source,
    })
}

fn value_to_string(path: &Path, input: &str, value: &Value) -> Result<String, ManifestError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(ManifestError::Invalid {
            path: path.to_path_buf(),
            message: format!("input {input}: defaultValue must be a string or a boolean, not {other}"),
        }),
    }
}

/// Reads one task folder (`task.json` and `launcher.json`).
pub fn load_task_dir(dir: &Path) -> Result<TaskManifest, ManifestError> {
    let task_path = dir.join("task.json");
    let json: Value = read_json(&task_path)?;
    let raw: RawTask = serde_json::from_value(json.clone()).map_err(|source| ManifestError::Json {
        path: task_path.clone(),
        source,
    })?;
    let launcher: LauncherConfig = read_json(&dir.join("launcher.json"))?;

    let mut inputs = Vec::with_capacity(raw.inputs.len());
    for input in raw.inputs {
        let default = match &input.default_value {
            Some(v) => Some(value_to_string(&task_path, &input.name, v)?),
            None => None,
        };
        let mut options = Vec::with_capacity(input.options.len());
        for (key, value) in &input.options {
            options.push((key.clone(), value_to_string(&task_path, &input.name, value)?));
        }
        inputs.push(InputSpec {
            name: input.name,
            input_type: input.input_type,
            label: input.label,
            required: input.required,
            default,
            help: input.help_mark_down,
            group: input.group_name,
            visible_rule: input.visible_rule,
            options,
        });
    }
    let execution = raw
        .execution
        .iter()
        .map(|(handler, v)| {
            let target = v
                .get("target")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (handler.clone(), target)
        })
        .collect();
    let folder = dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(TaskManifest {
        folder,
        dir: dir.to_path_buf(),
        id: raw.id,
        name: raw.name,
        friendly_name: raw.friendly_name,
        description: raw.description,
        category: raw.category,
        version: (raw.version.major, raw.version.minor, raw.version.patch),
        minimum_agent_version: raw.minimum_agent_version,
        instance_name_format: raw.instance_name_format,
        binary: launcher.binary,
        groups: raw
            .groups
            .into_iter()
            .map(|g| GroupSpec {
                name: g.name,
                display_name: g.display_name,
                visible_rule: g.visible_rule,
            })
            .collect(),
        inputs,
        outputs: raw
            .output_variables
            .into_iter()
            .map(|o| OutputSpec {
                name: o.name,
                description: o.description,
            })
            .collect(),
        execution,
        json,
    })
}

/// Every task folder (a folder with a `task.json`) under `manifests_dir`, sorted by folder name.
pub fn load_all(manifests_dir: &Path) -> Result<Vec<TaskManifest>, ManifestError> {
    let entries = std::fs::read_dir(manifests_dir).map_err(|e| IoError::new(manifests_dir, e))?;
    let mut dirs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| IoError::new(manifests_dir, e))?;
        let path = entry.path();
        if path.join("task.json").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    dirs.iter().map(|d| load_task_dir(d)).collect()
}

/// The repository's tasks (`task-manifests/`).
pub fn repo_tasks() -> Result<Vec<TaskManifest>, ManifestError> {
    load_all(&crate::manifests_dir())
}

/// The repository's task whose binary is `binary` (e.g. `amlops-train`).
pub fn task_by_binary(binary: &str) -> Result<TaskManifest, ManifestError> {
    find(|t| t.binary == binary, format!("with binary {binary}"))
}

/// The repository's task named `name` (`AzureMLTrain`), or in folder `name` (`AzureMLTrainV1`).
pub fn task_by_name(name: &str) -> Result<TaskManifest, ManifestError> {
    find(|t| t.name == name || t.folder == name, format!("named {name}"))
}

fn find(pred: impl Fn(&TaskManifest) -> bool, what: String) -> Result<TaskManifest, ManifestError> {
    let dir = crate::manifests_dir();
    load_all(&dir)?
        .into_iter()
        .find(pred)
        .ok_or(ManifestError::NotFound { dir, what })
}

impl TaskManifest {
    /// The declared input named `name`.
    pub fn input(&self, name: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The declared inputs as [`InputSignature`]s.
    pub fn input_signatures(&self) -> Vec<InputSignature> {
        self.inputs
            .iter()
            .map(|i| InputSignature {
                name: i.name.clone(),
                required: i.required,
                default: i.default.clone(),
            })
            .collect()
    }

    /// Differences between the manifest's inputs and what a binary reads, both ways: inputs missing on
    /// either side, and differing required flags or defaults. An empty list means they agree. A manifest
    /// default of `""` and a binary without a default are the same thing.
    pub fn diff_inputs(&self, binary: &[InputSignature]) -> Vec<String> {
        let norm = |d: &Option<String>| d.clone().filter(|s| !s.is_empty());
        let mut problems = Vec::new();
        for declared in &self.inputs {
            match binary.iter().find(|b| b.name == declared.name) {
                None => problems.push(format!(
                    "input {} is in task.json but the binary does not read it",
                    declared.name
                )),
                Some(b) => {
                    if b.required != declared.required {
                        problems.push(format!(
                            "input {}: required is {} in task.json but {} in the binary",
                            declared.name, declared.required, b.required
                        ));
                    }
                    if norm(&b.default) != norm(&declared.default) {
                        problems.push(format!(
                            "input {}: default is {:?} in task.json but {:?} in the binary",
                            declared.name, declared.default, b.default
                        ));
                    }
                }
            }
        }
        for b in binary {
            if self.input(&b.name).is_none() {
                problems.push(format!(
                    "input {} is read by the binary but not declared in task.json",
                    b.name
                ));
            }
        }
        problems
    }

    /// Differences between the declared output variables and the names a binary sets, both ways.
    pub fn diff_outputs(&self, binary: &[&str]) -> Vec<String> {
        let declared: BTreeSet<&str> = self.outputs.iter().map(|o| o.name.as_str()).collect();
        let set: BTreeSet<&str> = binary.iter().copied().collect();
        let mut problems: Vec<String> = declared
            .difference(&set)
            .map(|n| format!("output variable {n} is declared in task.json but the binary does not set it"))
            .collect();
        problems.extend(
            set.difference(&declared)
                .map(|n| format!("output variable {n} is set by the binary but not declared in task.json")),
        );
        problems
    }
}

/// The input names a `visibleRule` refers to, e.g. `a = x && b != y || c NotEndsWith z` -> `[a, b, c]`.
/// Returns an error naming a clause that does not have the form `name operator value`.
pub fn visible_rule_inputs(rule: &str) -> Result<Vec<String>, String> {
    const OPERATORS: [&str; 12] = [
        "!=",
        "=",
        "<=",
        ">=",
        "<",
        ">",
        "NotEndsWith",
        "EndsWith",
        "NotContains",
        "Contains",
        "NotStartsWith",
        "StartsWith",
    ];
    let mut names = Vec::new();
    for clause in rule.split("&&").flat_map(|part| part.split("||")) {
        let clause = clause.trim();
        let mut words = clause.split_whitespace();
        let (Some(name), Some(op)) = (words.next(), words.next()) else {
            return Err(format!("clause {clause:?} is not `input operator value`"));
        };
        if !OPERATORS.contains(&op) {
            return Err(format!("clause {clause:?}: unknown operator {op:?}"));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric()) || name.is_empty() {
            return Err(format!("clause {clause:?}: {name:?} is not an input name"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}
