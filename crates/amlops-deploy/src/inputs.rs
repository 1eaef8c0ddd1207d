//! The task's inputs (names as in task.json), validated before any call is made.

use std::path::PathBuf;
use std::time::Duration;

use amlops_agent::{AgentError, Inputs};
use amlops_spec::{AssetRef, Kind, NameKind, PlanOptions, validate_name};

use crate::DeployError;
use crate::smoke::{Expectation, SmokeTest, parse_expect, read_request};
use crate::traffic::Strategy;

/// Where the endpoint comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointSource {
    /// `endpointFile`: an `az ml` online endpoint YAML (its name read offline).
    File {
        /// The YAML file.
        path: PathBuf,
        /// The endpoint's name in it.
        name: String,
    },
    /// `endpointName` + `authMode`.
    Named {
        /// The name.
        name: String,
        /// `key`, `aml_token` or `aad_token`.
        auth_mode: String,
    },
}

impl EndpointSource {
    /// The endpoint's name.
    pub fn name(&self) -> &str {
        match self {
            EndpointSource::File { name, .. } | EndpointSource::Named { name, .. } => name,
        }
    }
}

/// A model reference the deployment can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    /// `azureml:name:version` (a workspace model).
    Workspace {
        /// Name.
        name: String,
        /// Version.
        version: String,
    },
    /// A model version ARM id or registry URI, used as is.
    Id {
        /// The id.
        id: String,
        /// Name.
        name: String,
        /// Version.
        version: String,
    },
}

impl ModelRef {
    /// Name.
    pub fn name(&self) -> &str {
        match self {
            ModelRef::Workspace { name, .. } | ModelRef::Id { name, .. } => name,
        }
    }

    /// Version.
    pub fn version(&self) -> &str {
        match self {
            ModelRef::Workspace { version, .. } | ModelRef::Id { version, .. } => version,
        }
    }

    /// The id the deployment's `properties.model` takes, given the workspace's ARM id.
    pub fn asset_id(&self, workspace_id: &str) -> String {
        match self {
            ModelRef::Workspace { name, version } => {
                format!("{workspace_id}/models/{name}/versions/{version}")
            }
            ModelRef::Id { id, .. } => id.clone(),
        }
    }
}

/// Parse the `model` input: `azureml:name:version`, a model version ARM id (AzureMLRegister's `modelId`) or a
/// registry model version URI.
pub fn parse_model(raw: &str) -> Result<ModelRef, DeployError> {
    let bad = |why: &str| {
        DeployError::Input(AgentError::InvalidInput {
            name: "model".into(),
            value: raw.to_string(),
            expected: format!(
                "it must be 'azureml:<name>:<version>' or a model version id \
                 ('/subscriptions/.../models/<name>/versions/<version>'): {why}"
            ),
        })
    };
    match AssetRef::parse(raw).map_err(|e| bad(&e.to_string()))? {
        AssetRef::Versioned { name, version } if raw.trim().starts_with("azureml:") => {
            validate_name(NameKind::Asset, &name).map_err(|e| bad(&e.to_string()))?;
            Ok(ModelRef::Workspace { name, version })
        }
        AssetRef::ArmId {
            id,
            collection,
            name,
            version: Some(version),
        } if collection == "models" => Ok(ModelRef::Id { id, name, version }),
        AssetRef::Registry {
            uri,
            collection,
            name,
            version: Some(version),
            ..
        } if collection == "models" => Ok(ModelRef::Id {
            id: uri,
            name,
            version,
        }),
        AssetRef::Labelled { .. } => Err(bad("labels such as @latest are not allowed: pin a version")),
        _ => Err(bad("no model version is named")),
    }
}

/// Check an endpoint or deployment name (3-32 characters, `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`).
pub fn check_name(input: &str, kind: NameKind, name: &str) -> Result<(), DeployError> {
    validate_name(kind, name).map_err(|e| {
        DeployError::Input(AgentError::InvalidInput {
            name: input.into(),
            value: name.into(),
            expected: e.to_string(),
        })
    })
}

/// A deployment name from a model name and version, valid under the endpoint naming rules: lower-case letters,
/// digits and '-', starting with a letter, 3-32 characters (`credit-risk-v12`).
pub fn derive_deployment_name(model: &str, version: &str) -> String {
    fn slug(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        out.trim_end_matches('-').to_string()
    }
    let mut version = slug(version);
    version.truncate(12);
    let version = format!("v{}", version.trim_end_matches('-'));
    let mut name = slug(model);
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "m-");
    }
    name.truncate(32 - version.len() - 1);
    let name = name.trim_end_matches('-');
    let mut out = format!("{name}-{version}");
    while out.len() < 3 {
        out.push('0');
    }
    out
}

/// Where the deployment comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentSource {
    /// `deploymentFile`: an `az ml` managed online deployment YAML.
    File {
        /// The file.
        path: PathBuf,
        /// The model it names, when it is `azureml:name:version` or an id (for the default name and the events).
        model: Option<ModelRef>,
    },
    /// From the inputs.
    Model {
        /// `model`.
        model: ModelRef,
        /// `instanceType`.
        instance_type: String,
        /// `instanceCount`.
        instance_count: u32,
        /// `environment` (custom models).
        environment: Option<String>,
        /// `codePath` (custom models).
        code_path: Option<PathBuf>,
        /// `scoringScript` (custom models).
        scoring_script: Option<String>,
    },
}

impl DeploymentSource {
    /// The model, when known.
    pub fn model(&self) -> Option<&ModelRef> {
        match self {
            DeploymentSource::File { model, .. } => model.as_ref(),
            DeploymentSource::Model { model, .. } => Some(model),
        }
    }
}

/// The input `action`: what the task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `deploy` (default): the rollout.
    Deploy,
    /// `restoreTraffic`: restore the split noted on the endpoint ([`crate::restore::RESTORE_TAG`]) by an earlier
    /// rollout that did not finish; nothing else.
    RestoreTraffic,
}

impl Action {
    /// Read `action` (`deploy` | `restoreTraffic`).
    pub fn read(i: &Inputs<'_>) -> Result<Self, DeployError> {
        Ok(
            match i
                .pick_list("action", &["deploy", "restoreTraffic"], "deploy")?
                .as_str()
            {
                "restoreTraffic" => Action::RestoreTraffic,
                _ => Action::Deploy,
            },
        )
    }
}

/// What `action: restoreTraffic` needs: the workspace and the endpoint's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSettings {
    /// `resourceGroup`.
    pub resource_group: String,
    /// `workspace`.
    pub workspace: String,
    /// `endpointName`.
    pub endpoint: String,
}

impl RestoreSettings {
    /// Read and validate the inputs of `action: restoreTraffic`.
    pub fn read(i: &Inputs<'_>) -> Result<Self, DeployError> {
        let resource_group = i.required_string("resourceGroup")?;
        let workspace = i.required_string("workspace")?;
        let endpoint = i.string("endpointName").ok_or(DeployError::Conflict(
            "'action: restoreTraffic' needs 'endpointName': the endpoint whose traffic to restore",
        ))?;
        check_name("endpointName", NameKind::Endpoint, &endpoint)?;
        Ok(Self {
            resource_group,
            workspace,
            endpoint,
        })
    }
}

/// Everything the flow needs besides the service connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `resourceGroup`.
    pub resource_group: String,
    /// `workspace`.
    pub workspace: String,
    /// The endpoint.
    pub endpoint: EndpointSource,
    /// The deployment.
    pub deployment: DeploymentSource,
    /// The new deployment's name (input, YAML or derived), validated.
    pub deployment_name: String,
    /// `strategy`.
    pub strategy: Strategy,
    /// `trafficSteps` (canary).
    pub traffic_steps: Vec<u32>,
    /// `stepWaitSeconds`.
    pub step_wait: Duration,
    /// `mirrorPercent`.
    pub mirror_percent: u32,
    /// The smoke test, when `smokeTestRequest` is given.
    pub smoke: Option<SmokeTest>,
    /// `rollbackOnFailure`.
    pub rollback_on_failure: bool,
    /// `deleteFailedDeployment`.
    pub delete_failed_deployment: bool,
    /// `keepPreviousDeployments`.
    pub keep_previous: u32,
    /// `timeoutMinutes` (0: none).
    pub timeout_minutes: u32,
    /// `dataCollection` and `dataCollectionSamplingRate` (`None`: off, the YAML's collector, if any, is kept).
    pub data_collection: Option<crate::collection::DataCollection>,
    /// `analysis`, `analysisMinRequests`, `analysisInconclusive` (`None`: no canary analysis).
    pub analysis: Option<crate::analysis::AnalysisSettings>,
}

/// Parse `trafficSteps`: comma-separated whole percentages, strictly increasing, 1-100, ending at 100.
pub fn parse_steps(raw: &str) -> Result<Vec<u32>, DeployError> {
    let bad = |why: &str| {
        DeployError::Input(AgentError::InvalidInput {
            name: "trafficSteps".into(),
            value: raw.to_string(),
            expected: format!(
                "it must list increasing percentages from 1 to 100 separated by commas, ending at 100 \
                 (e.g. '10,50,100'): {why}"
            ),
        })
    };
    let mut out: Vec<u32> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let v: u32 = part
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad(&format!("'{part}' is not a whole number")))?;
        if !(1..=100).contains(&v) {
            return Err(bad(&format!("{v} is outside 1-100")));
        }
        if out.last().is_some_and(|last| *last >= v) {
            return Err(bad(&format!("{v} does not increase")));
        }
        out.push(v);
    }
    match out.last() {
        None => Err(bad("no step is given")),
        Some(100) => Ok(out),
        Some(_) => Err(bad("the last step must be 100")),
    }
}

fn plan_name(path: &std::path::Path, kind: Kind, input: &str) -> Result<amlops_spec::Plan, DeployError> {
    if !path.is_file() {
        return Err(DeployError::FileMissing {
            input: input.into(),
            path: path.to_path_buf(),
        });
    }
    amlops_spec::plan_file(
        path,
        PlanOptions {
            kind: Some(kind),
            ..PlanOptions::default()
        },
    )
    .map_err(|e| DeployError::Spec {
        input: input.into(),
        source: Box::new(e),
    })
}

impl Settings {
    /// Read and validate every input but the service connection. Reads the YAML and smoke-test files; makes no
    /// call.
    pub fn read(i: &Inputs<'_>) -> Result<Self, DeployError> {
        let resource_group = i.required_string("resourceGroup")?;
        let workspace = i.required_string("workspace")?;

        let endpoint = match (i.file_path("endpointFile"), i.string("endpointName")) {
            (Some(path), None) => {
                let plan = plan_name(&path, Kind::OnlineEndpoint, "endpointFile")?;
                let name = plan.document()["name"].as_str().unwrap_or_default().to_string();
                check_name("endpointFile", NameKind::Endpoint, &name)?;
                EndpointSource::File { path, name }
            }
            (None, Some(name)) => {
                check_name("endpointName", NameKind::Endpoint, &name)?;
                let auth_mode = i.pick_list("authMode", &["key", "aml_token", "aad_token"], "key")?;
                EndpointSource::Named { name, auth_mode }
            }
            (Some(_), Some(_)) => {
                return Err(DeployError::Conflict(
                    "give 'endpointFile' or 'endpointName', not both",
                ));
            }
            (None, None) => return Err(DeployError::Conflict("give 'endpointFile' or 'endpointName'")),
        };

        let (deployment, yaml_name) = match (i.file_path("deploymentFile"), i.string("model")) {
            (Some(path), None) => {
                let plan = plan_name(&path, Kind::OnlineDeployment, "deploymentFile")?;
                if let Some(u) = plan.uploads().iter().find(|u| !u.role.is_code()) {
                    return Err(DeployError::LocalPath {
                        file: path.clone(),
                        path: u.rel_path.clone(),
                    });
                }
                if let Some(l) = plan.lookups().first() {
                    return Err(DeployError::Latest {
                        file: path.clone(),
                        reference: format!("{}@latest ({})", l.name, l.collection),
                    });
                }
                let doc = plan.document();
                let model = doc["model"].as_str().and_then(|m| parse_model(m).ok());
                let name = doc["name"].as_str().map(str::to_string);
                (DeploymentSource::File { path, model }, name)
            }
            (None, Some(raw)) => {
                let model = parse_model(&raw)?;
                let code_path = i.file_path("codePath");
                let scoring_script = i.string("scoringScript");
                if code_path.is_some() != scoring_script.is_some() {
                    return Err(DeployError::Conflict(
                        "'codePath' and 'scoringScript' go together: give both (a custom model) or neither",
                    ));
                }
                if let Some(p) = &code_path
                    && !p.is_dir()
                {
                    return Err(DeployError::FileMissing {
                        input: "codePath".into(),
                        path: p.clone(),
                    });
                }
                let environment = i.string("environment");
                if let Some(env) = &environment {
                    let ok = matches!(
                        AssetRef::parse(env),
                        Ok(AssetRef::Versioned { .. } | AssetRef::ArmId { .. } | AssetRef::Registry { .. })
                    ) && (env.starts_with("azureml:") || env.starts_with('/'));
                    if !ok {
                        return Err(AgentError::InvalidInput {
                            name: "environment".into(),
                            value: env.clone(),
                            expected: "it must be 'azureml:<name>:<version>' or an environment id".into(),
                        }
                        .into());
                    }
                }
                (
                    DeploymentSource::Model {
                        model,
                        instance_type: i.string_or("instanceType", "Standard_DS3_v2"),
                        instance_count: i.int_or("instanceCount", 1, 1, 1000)? as u32,
                        environment,
                        code_path,
                        scoring_script,
                    },
                    None,
                )
            }
            (Some(_), Some(_)) => {
                return Err(DeployError::Conflict(
                    "give 'deploymentFile' or 'model', not both",
                ));
            }
            (None, None) => return Err(DeployError::Conflict("give 'deploymentFile' or 'model'")),
        };

        let deployment_name = match (i.string("deploymentName"), yaml_name, deployment.model()) {
            (Some(n), _, _) => {
                check_name("deploymentName", NameKind::Deployment, &n)?;
                n
            }
            (None, Some(n), _) => {
                check_name("deploymentFile", NameKind::Deployment, &n)?;
                n
            }
            (None, None, Some(m)) => derive_deployment_name(m.name(), m.version()),
            (None, None, None) => {
                return Err(DeployError::Conflict(
                    "the deployment has no name: give 'deploymentName' or a 'name' in the deployment YAML",
                ));
            }
        };

        let strategy = match i
            .pick_list("strategy", &["replace", "blueGreen", "canary"], "blueGreen")?
            .as_str()
        {
            "replace" => Strategy::Replace,
            "canary" => Strategy::Canary,
            _ => Strategy::BlueGreen,
        };
        let traffic_steps = if strategy == Strategy::Canary {
            parse_steps(&i.string_or("trafficSteps", "10,50,100"))?
        } else {
            vec![100]
        };
        let step_wait = Duration::from_secs(i.int_or("stepWaitSeconds", 60, 0, 86_400)? as u64);
        let mirror_percent = i.int_or("mirrorPercent", 0, 0, 50)? as u32;

        let smoke = match i.file_path("smokeTestRequest") {
            None => None,
            Some(file) => {
                let body = read_request(&file)?;
                let status = i.int_or("smokeTestExpectStatus", 200, 100, 599)? as u16;
                let value = i
                    .string("smokeTestExpect")
                    .map(|e| parse_expect(&e))
                    .transpose()?;
                Some(SmokeTest {
                    file,
                    body,
                    expect: Expectation { status, value },
                })
            }
        };
        Ok(Self {
            resource_group,
            workspace,
            endpoint,
            deployment,
            deployment_name,
            strategy,
            traffic_steps,
            step_wait,
            mirror_percent,
            smoke,
            rollback_on_failure: i.bool_or("rollbackOnFailure", true),
            delete_failed_deployment: i.bool_or("deleteFailedDeployment", true),
            keep_previous: i.int_or("keepPreviousDeployments", 1, 0, 1000)? as u32,
            timeout_minutes: i.int_or("timeoutMinutes", 0, 0, 60 * 24 * 30)? as u32,
            data_collection: crate::collection::DataCollection::read(i)?,
            analysis: crate::analysis::AnalysisSettings::read(i)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amlops_agent::TaskEnv;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, DeployError> {
        let env = TaskEnv::from_map(
            pairs
                .iter()
                .map(|(k, v)| (amlops_agent::env::input_env_name(k), v.to_string())),
        );
        Settings::read(&Inputs::new(&env))
    }

    const BASE: [(&str, &str); 4] = [
        ("resourceGroup", "rg"),
        ("workspace", "ws"),
        ("endpointName", "churn-ep"),
        ("model", "azureml:churn-model:12"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut v = BASE.to_vec();
        v.extend_from_slice(extra);
        v
    }

    #[test]
    fn defaults() {
        let s = settings(&BASE).unwrap();
        assert_eq!(s.deployment_name, "churn-model-v12");
        assert_eq!(s.strategy, Strategy::BlueGreen);
        assert_eq!(s.traffic_steps, vec![100]);
        assert_eq!(s.step_wait, Duration::from_secs(60));
        assert_eq!(s.mirror_percent, 0);
        assert!(s.smoke.is_none());
        assert!(s.rollback_on_failure && s.delete_failed_deployment);
        assert_eq!(s.keep_previous, 1);
        assert_eq!(
            s.endpoint,
            EndpointSource::Named {
                name: "churn-ep".into(),
                auth_mode: "key".into()
            }
        );
        match &s.deployment {
            DeploymentSource::Model {
                instance_type,
                instance_count,
                ..
            } => {
                assert_eq!(instance_type, "Standard_DS3_v2");
                assert_eq!(*instance_count, 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_names_are_rejected_with_the_input_named() {
        for (input, value) in [
            ("endpointName", "ep"),
            ("endpointName", "1endpoint"),
            ("endpointName", "ends-with-dash-"),
            ("endpointName", "under_score"),
            ("deploymentName", "x".repeat(33).leak() as &str),
        ] {
            let mut v = with(&[]);
            v.retain(|(k, _)| *k != input);
            v.push((input, value));
            let e = settings(&v).unwrap_err().to_string();
            assert!(e.contains(&format!("'{input}'")), "{e}");
            assert!(e.contains("3-32 characters"), "{e}");
        }
    }

    #[test]
    fn derived_names_are_valid() {
        for (m, v, want) in [
            ("churn-model", "12", Some("churn-model-v12")),
            ("Credit_Risk.Model", "3", Some("credit-risk-model-v3")),
            ("9lives", "1", Some("m-9lives-v1")),
            ("a", "1", Some("a-v1")),
            ("a-very-long-model-name-that-goes-on-and-on", "2024.10.01", None),
        ] {
            let n = derive_deployment_name(m, v);
            check_name("deploymentName", NameKind::Deployment, &n).unwrap_or_else(|e| panic!("{n}: {e}"));
            if let Some(w) = want {
                assert_eq!(n, w);
            }
        }
    }

    #[test]
    fn model_references() {
        assert_eq!(
            parse_model("azureml:m:3").unwrap(),
            ModelRef::Workspace {
                name: "m".into(),
                version: "3".into()
            }
        );
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/models/m/versions/4";
        let r = parse_model(id).unwrap();
        assert_eq!((r.name(), r.version()), ("m", "4"));
        assert_eq!(r.asset_id("ignored"), id);
        assert_eq!(
            ModelRef::Workspace {
                name: "m".into(),
                version: "3".into()
            }
            .asset_id("/ws"),
            "/ws/models/m/versions/3"
        );
        for bad in [
            "m:3",
            "azureml:m@latest",
            "azureml:m",
            "/subscriptions/s/x/environments/e/versions/1",
        ] {
            let e = parse_model(bad).unwrap_err().to_string();
            assert!(e.contains("'model'"), "{bad}: {e}");
        }
    }

    #[test]
    fn traffic_steps_and_mirror() {
        assert_eq!(parse_steps("10, 50,100").unwrap(), vec![10, 50, 100]);
        assert_eq!(parse_steps("100").unwrap(), vec![100]);
        for bad in [
            "",
            "10,50",
            "50,10,100",
            "0,100",
            "10,abc,100",
            "10,10,100",
            "10,150",
        ] {
            assert!(
                parse_steps(bad).unwrap_err().to_string().contains("trafficSteps"),
                "{bad}"
            );
        }
        let s = settings(&with(&[("strategy", "canary"), ("trafficSteps", "5,25,100")])).unwrap();
        assert_eq!(s.traffic_steps, vec![5, 25, 100]);
        let e = settings(&with(&[("mirrorPercent", "60")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("mirrorPercent") && e.contains("0 to 50"), "{e}");
        let e = settings(&with(&[("strategy", "rolling")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("strategy") && e.contains("replace, blueGreen, canary"),
            "{e}"
        );
    }

    #[test]
    fn sources_are_exclusive_and_required() {
        let mut v = with(&[("endpointFile", "/nope.yml")]);
        let e = settings(&v).unwrap_err().to_string();
        assert!(e.contains("endpointFile") && e.contains("not both"), "{e}");
        v.retain(|(k, _)| !k.starts_with("endpoint"));
        assert!(settings(&v).unwrap_err().to_string().contains("'endpointName'"));
        let e = settings(&with(&[("codePath", "/tmp")])).unwrap_err().to_string();
        assert!(e.contains("scoringScript"), "{e}");
    }

    #[test]
    fn smoke_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("req.json");
        std::fs::write(&f, "not json").unwrap();
        let p = f.to_str().unwrap().to_string();
        let mut v: Vec<(&str, &str)> = with(&[]);
        v.push(("smokeTestRequest", p.as_str()));
        let e = settings(&v).unwrap_err().to_string();
        assert!(
            e.contains("smokeTestRequest") && e.contains("not valid JSON"),
            "{e}"
        );
        std::fs::write(&f, r#"{"data":[[1,2]]}"#).unwrap();
        v.push(("smokeTestExpect", "/0=1"));
        v.push(("smokeTestExpectStatus", "201"));
        let s = settings(&v).unwrap().smoke.unwrap();
        assert_eq!(s.expect.status, 201);
        assert_eq!(s.expect.value, Some(("/0".into(), serde_json::json!(1))));
    }
}
