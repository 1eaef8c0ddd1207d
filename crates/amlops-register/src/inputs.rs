//! The task's inputs, read and validated before anything touches the workspace.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use amlops_agent::{AgentError, AzureRmConnection, TaskContext};
use amlops_spec::{NameKind, validate_name};

use crate::error::RegisterError;
use crate::governance::PREFIX;

/// `modelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    /// `custom_model`: any files.
    Custom,
    /// `mlflow_model`: a folder with an `MLmodel` file.
    Mlflow,
    /// `triton_model`.
    Triton,
}

impl ModelType {
    /// The pickList options, as task.json spells them.
    pub const OPTIONS: [&'static str; 3] = ["custom_model", "mlflow_model", "triton_model"];

    /// The REST value.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelType::Custom => "custom_model",
            ModelType::Mlflow => "mlflow_model",
            ModelType::Triton => "triton_model",
        }
    }

    /// Parse one of [`ModelType::OPTIONS`] (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "custom_model" => Some(ModelType::Custom),
            "mlflow_model" => Some(ModelType::Mlflow),
            "triton_model" => Some(ModelType::Triton),
            _ => None,
        }
    }
}

impl fmt::Display for ModelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the model's files are (`modelPath`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A local file.
    LocalFile(PathBuf),
    /// A local folder.
    LocalFolder(PathBuf),
    /// `azureml://jobs/<job>/outputs/<output>[/paths/<path>]`.
    JobOutput {
        /// The job.
        job: String,
        /// The output.
        output: String,
        /// The path inside the output.
        path: Option<String>,
        /// The URI as given.
        uri: String,
    },
    /// A datastore URI (`azureml://datastores/<ds>/paths/<path>`, the long `azureml://subscriptions/...` form) or
    /// a storage URL (`https://`, `wasbs://`, `abfss://`).
    Remote(String),
}

impl ModelSource {
    /// The local path, if any.
    pub fn local_path(&self) -> Option<&Path> {
        match self {
            ModelSource::LocalFile(p) | ModelSource::LocalFolder(p) => Some(p),
            _ => None,
        }
    }

    /// The job whose output this is.
    pub fn job(&self) -> Option<&str> {
        match self {
            ModelSource::JobOutput { job, .. } => Some(job),
            _ => None,
        }
    }
}

fn invalid(name: &str, value: &str, expected: impl Into<String>) -> RegisterError {
    RegisterError::Input(AgentError::InvalidInput {
        name: name.into(),
        value: value.into(),
        expected: expected.into(),
    })
}

const OUTPUT_RULE: &str = "letters, digits, '_' and '-'";

fn is_output_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Parse `modelPath`. Local paths are resolved against `base` (the default working directory) and must exist.
pub fn parse_model_path(raw: &str, base: Option<&Path>) -> Result<ModelSource, RegisterError> {
    const INPUT: &str = "modelPath";
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    if let Some(rest) = lower
        .strip_prefix("azureml://jobs/")
        .map(|_| &raw["azureml://jobs/".len()..])
    {
        let expected = "a job output is azureml://jobs/<job>/outputs/<output>[/paths/<path>]";
        let mut parts = rest.splitn(4, '/');
        let job = parts.next().unwrap_or("");
        let outputs = parts.next().unwrap_or("");
        let output = parts.next().unwrap_or("");
        let tail = parts.next();
        if !outputs.eq_ignore_ascii_case("outputs") || job.is_empty() || output.is_empty() {
            return Err(invalid(INPUT, raw, expected));
        }
        validate_name(NameKind::Job, job).map_err(|e| invalid(INPUT, raw, format!("{expected}; {e}")))?;
        if !is_output_name(output) {
            return Err(invalid(
                INPUT,
                raw,
                format!("an output name holds only {OUTPUT_RULE}"),
            ));
        }
        let path = match tail {
            None | Some("") => None,
            Some(t) => match t.strip_prefix("paths/") {
                Some(p) if !p.trim_matches('/').is_empty() => Some(p.to_string()),
                Some(_) => None,
                None => return Err(invalid(INPUT, raw, expected)),
            },
        };
        return Ok(ModelSource::JobOutput {
            job: job.to_string(),
            output: output.to_string(),
            path,
            uri: raw.trim_end_matches('/').to_string(),
        });
    }
    if lower.starts_with("azureml://") {
        let ok = raw.contains("/datastores/") && raw.contains("/paths/");
        if !ok {
            return Err(invalid(
                INPUT,
                raw,
                "an azureml:// path is a job output (azureml://jobs/<job>/outputs/<output>) or a datastore URI \
                 (azureml://datastores/<datastore>/paths/<path>)",
            ));
        }
        return Ok(ModelSource::Remote(raw.to_string()));
    }
    if ["https://", "wasbs://", "abfss://", "wasb://", "abfs://"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        return Ok(ModelSource::Remote(raw.to_string()));
    }
    if raw.contains("://") || lower.starts_with("azureml:") {
        return Err(invalid(
            INPUT,
            raw,
            "it must be a local file or folder, azureml://jobs/<job>/outputs/<output>[/paths/...], a datastore \
             URI azureml://datastores/<datastore>/paths/<path>, or an https/wasbs/abfss storage URL",
        ));
    }
    let mut path = PathBuf::from(raw);
    if path.is_relative()
        && let Some(b) = base
    {
        path = b.join(path);
    }
    let meta = std::fs::metadata(&path).map_err(|_| RegisterError::PathMissing {
        input: INPUT.into(),
        path: path.clone(),
    })?;
    Ok(if meta.is_dir() {
        ModelSource::LocalFolder(path)
    } else {
        ModelSource::LocalFile(path)
    })
}

/// An mlflow_model must be a folder holding an `MLmodel` file (checked before anything is uploaded).
pub fn check_mlflow_folder(path: &Path) -> Result<(), RegisterError> {
    if !path.is_dir() {
        return Err(RegisterError::MlflowModel {
            path: path.to_path_buf(),
            problem: "is a file; an mlflow_model must be a folder that holds an MLmodel file".into(),
        });
    }
    if !path.join("MLmodel").is_file() {
        return Err(RegisterError::MlflowModel {
            path: path.to_path_buf(),
            problem: "has no MLmodel file; an mlflow_model folder is what mlflow.<flavor>.save_model writes \
                      (MLmodel, the model files, conda.yaml...)"
                .into(),
        });
    }
    Ok(())
}

/// Check a version: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.
pub fn check_version(input: &str, v: &str) -> Result<(), RegisterError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            input,
            v,
            "a version holds 1-64 letters, digits, '.', '_' or '-' and starts with a letter or digit (e.g. 3 or \
             2026.11.1)",
        ))
    }
}

/// What to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An `az ml` model, environment, component or data YAML.
    AssetFile(PathBuf),
    /// The model shortcut.
    Model {
        /// `modelName`.
        name: String,
        /// `modelPath`.
        source: ModelSource,
        /// `modelType`.
        model_type: ModelType,
    },
}

/// The task's inputs, validated.
#[derive(Debug, Clone)]
pub struct RegisterInputs {
    /// `resourceGroup`.
    pub resource_group: String,
    /// `workspace`.
    pub workspace: String,
    /// `assetFile`, or `modelName` + `modelPath` + `modelType`.
    pub target: Target,
    /// `version` (`None`: the next free version, or the YAML's).
    pub version: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: BTreeMap<String, String>,
    /// `properties`.
    pub properties: BTreeMap<String, String>,
    /// `reason`.
    pub reason: Option<String>,
    /// `jobName`.
    pub job_name: Option<String>,
}

impl RegisterInputs {
    /// Read and validate everything but the service connection.
    pub fn read(ctx: &TaskContext) -> Result<Self, RegisterError> {
        let i = ctx.inputs();
        let resource_group = i.required_string("resourceGroup")?;
        let workspace = i.required_string("workspace")?;
        validate_name(NameKind::Workspace, &workspace)
            .map_err(|e| invalid("workspace", &workspace, e.to_string()))?;
        let asset_file = i.file_path("assetFile");
        let model_name = i.string("modelName");
        let model_path = i.string("modelPath");
        let model_type_raw = i.pick_list("modelType", &ModelType::OPTIONS, "custom_model")?;
        let model_type = ModelType::parse(&model_type_raw).unwrap_or(ModelType::Custom);
        let target = match (asset_file, &model_name, &model_path) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(RegisterError::Conflict(
                    "give either 'assetFile' (an az ml asset YAML) or 'modelName' and 'modelPath' (the model \
                     shortcut), not both"
                        .into(),
                ));
            }
            (Some(file), None, None) => {
                if !file.is_file() {
                    return Err(RegisterError::PathMissing {
                        input: "assetFile".into(),
                        path: file,
                    });
                }
                Target::AssetFile(file)
            }
            (None, None, None) => {
                return Err(RegisterError::Conflict(
                    "nothing to register: give 'assetFile' (an az ml model, environment, component or data YAML) \
                     or 'modelName' and 'modelPath'"
                        .into(),
                ));
            }
            (None, None, Some(_)) => {
                return Err(AgentError::MissingInput {
                    name: "modelName".into(),
                }
                .into());
            }
            (None, Some(_), None) => {
                return Err(AgentError::MissingInput {
                    name: "modelPath".into(),
                }
                .into());
            }
            (None, Some(name), Some(path)) => {
                validate_name(NameKind::Asset, name)
                    .map_err(|e| invalid("modelName", name, e.to_string()))?;
                let base = ctx.pipeline.working_directory.clone();
                let source = parse_model_path(path, base.as_deref())?;
                if model_type == ModelType::Mlflow
                    && let Some(p) = source.local_path()
                {
                    check_mlflow_folder(p)?;
                }
                Target::Model {
                    name: name.clone(),
                    source,
                    model_type,
                }
            }
        };
        let version = i.string("version");
        if let Some(v) = &version {
            check_version("version", v)?;
        }
        let job_name = i.string("jobName");
        if let Some(j) = &job_name {
            validate_name(NameKind::Job, j).map_err(|e| invalid("jobName", j, e.to_string()))?;
        }
        let tags: BTreeMap<String, String> = i.key_values("tags")?.into_iter().collect();
        let properties: BTreeMap<String, String> = i.key_values("properties")?.into_iter().collect();
        if let Some(k) = properties
            .keys()
            .find(|k| k.to_ascii_lowercase().starts_with(PREFIX))
        {
            return Err(invalid(
                "properties",
                k,
                format!("the '{PREFIX}' prefix is reserved for the governance record the task writes"),
            ));
        }
        Ok(Self {
            resource_group,
            workspace,
            target,
            version,
            description: i.string("description"),
            tags,
            properties,
            reason: i.string("reason"),
            job_name,
        })
    }
}

/// The subscription of the connection, or a clear error.
pub fn subscription(conn: &AzureRmConnection) -> Result<String, RegisterError> {
    conn.subscription_id.clone().ok_or_else(|| {
        RegisterError::Setup(format!(
            "the service connection '{}' (input 'azureSubscription') is not scoped to a subscription",
            conn.id
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_outputs_parse() {
        let s = parse_model_path("azureml://jobs/train-42/outputs/model", None).unwrap();
        assert_eq!(
            s,
            ModelSource::JobOutput {
                job: "train-42".into(),
                output: "model".into(),
                path: None,
                uri: "azureml://jobs/train-42/outputs/model".into()
            }
        );
        let s = parse_model_path("azureml://jobs/j1/outputs/artifacts/paths/outputs/model/", None).unwrap();
        match s {
            ModelSource::JobOutput {
                job, output, path, ..
            } => {
                assert_eq!((job.as_str(), output.as_str()), ("j1", "artifacts"));
                assert_eq!(path.as_deref(), Some("outputs/model/"));
            }
            other => panic!("{other:?}"),
        }
        for bad in [
            "azureml://jobs/j1",
            "azureml://jobs/j1/inputs/x",
            "azureml://jobs/-bad/outputs/x",
            "azureml://jobs/j1/outputs/x/files/a",
            "azureml://jobs/j1/outputs/a b",
        ] {
            let e = parse_model_path(bad, None).unwrap_err().to_string();
            assert!(e.contains("'modelPath'"), "{bad}: {e}");
        }
    }

    #[test]
    fn datastore_and_storage_uris_pass() {
        for ok in [
            "azureml://datastores/workspaceblobstore/paths/models/churn/",
            "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/p",
            "https://acct.blob.core.windows.net/c/models/churn",
            "abfss://fs@acct.dfs.core.windows.net/models",
        ] {
            assert_eq!(
                parse_model_path(ok, None).unwrap(),
                ModelSource::Remote(ok.into())
            );
        }
        for bad in [
            "azureml://registries/r/models/m",
            "azureml:churn:1",
            "s3://bucket/model",
            "ftp://x/y",
        ] {
            assert!(parse_model_path(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_paths_resolve_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("model")).unwrap();
        std::fs::write(dir.path().join("model.pkl"), b"x").unwrap();
        assert_eq!(
            parse_model_path("model", Some(dir.path())).unwrap(),
            ModelSource::LocalFolder(dir.path().join("model"))
        );
        assert_eq!(
            parse_model_path("model.pkl", Some(dir.path())).unwrap(),
            ModelSource::LocalFile(dir.path().join("model.pkl"))
        );
        let e = parse_model_path("missing", Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing") && e.contains("'modelPath'"), "{e}");
    }

    #[test]
    fn mlflow_needs_a_folder_with_mlmodel() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.pkl");
        std::fs::write(&file, b"x").unwrap();
        assert!(
            check_mlflow_folder(&file)
                .unwrap_err()
                .to_string()
                .contains("is a file")
        );
        assert!(
            check_mlflow_folder(dir.path())
                .unwrap_err()
                .to_string()
                .contains("no MLmodel")
        );
        std::fs::write(dir.path().join("MLmodel"), b"flavors: {}").unwrap();
        check_mlflow_folder(dir.path()).unwrap();
    }

    #[test]
    fn versions() {
        for ok in ["1", "42", "2026.11.1", "v2", "1-rc_1"] {
            check_version("version", ok).unwrap();
        }
        for bad in ["", "-1", ".1", "1/2", "a b", &"9".repeat(65)] {
            assert!(check_version("version", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn model_types() {
        assert_eq!(ModelType::parse("MLflow_Model"), Some(ModelType::Mlflow));
        assert_eq!(ModelType::parse("onnx"), None);
        for o in ModelType::OPTIONS {
            assert_eq!(ModelType::parse(o).unwrap().as_str(), o);
        }
    }
}
