//! Run the amlops steps of an `azure-pipelines.yml` the way the agent would: every declared input set from the
//! step's `inputs` (or the task.json default), `$(variable)` and `$(step.output)` macros expanded, service
//! connections pointed at a workspace URL, output variables passed on to later steps. Other steps are reported
//! as skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use amlops_agent::command::parse_command;
use serde_yaml::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The four tasks: name, manifest, binary.
pub const TASKS: &[(&str, &str, &str)] = &[
    (
        "AzureMLTrain",
        include_str!("../../../task-manifests/AzureMLTrainV1/task.json"),
        "amlops-train",
    ),
    (
        "AzureMLRegister",
        include_str!("../../../task-manifests/AzureMLRegisterV1/task.json"),
        "amlops-register",
    ),
    (
        "AzureMLDeploy",
        include_str!("../../../task-manifests/AzureMLDeployV1/task.json"),
        "amlops-deploy",
    ),
    (
        "AzureMLGate",
        include_str!("../../../task-manifests/AzureMLGateV1/task.json"),
        "amlops-gate",
    ),
];

/// A pipeline that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The file cannot be read.
    #[error("cannot read the pipeline file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not parse.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// The YAML parses but is not a pipeline we can run.
    #[error("{path}: {message}")]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A task binary cannot be found or started.
    #[error("{0}")]
    Binary(String),
}

/// One step of the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An amlops task step.
    Task {
        /// `AzureMLTrain` etc.
        task: String,
        /// The step's `name:` (for `$(name.output)` references).
        name: Option<String>,
        /// `displayName:`.
        display_name: Option<String>,
        /// The step's inputs, unexpanded.
        inputs: BTreeMap<String, String>,
    },
    /// Any other step (script, checkout, other tasks).
    Other {
        /// What it is, for the report.
        description: String,
    },
}

/// A parsed pipeline: variables and steps in order (stages and jobs flattened).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pipeline {
    /// Pipeline, stage and job variables, in order of appearance.
    pub variables: BTreeMap<String, String>,
    /// The steps.
    pub steps: Vec<Step>,
}

/// Parse a pipeline file.
pub fn parse_pipeline(path: &Path) -> Result<Pipeline, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Read {
        path: path.into(),
        source,
    })?;
    parse_pipeline_text(&text, path)
}

/// Parse pipeline text (`path` is for messages).
pub fn parse_pipeline_text(text: &str, path: &Path) -> Result<Pipeline, PipelineError> {
    let root: Value = serde_yaml::from_str(text).map_err(|e| PipelineError::Yaml {
        path: path.into(),
        message: e.to_string(),
    })?;
    let mut pipeline = Pipeline::default();
    let shape = |message: String| PipelineError::Shape {
        path: path.into(),
        message,
    };
    if !root.is_mapping() {
        return Err(shape(
            "the pipeline must be a YAML mapping with steps, jobs or stages".into(),
        ));
    }
    collect(&root, &mut pipeline, &shape)?;
    if pipeline.steps.is_empty() {
        return Err(shape(
            "no steps found (looked under steps, jobs and stages)".into(),
        ));
    }
    Ok(pipeline)
}

fn collect(
    node: &Value,
    pipeline: &mut Pipeline,
    shape: &dyn Fn(String) -> PipelineError,
) -> Result<(), PipelineError> {
    read_variables(node.get("variables"), &mut pipeline.variables);
    if let Some(stages) = node.get("stages").and_then(Value::as_sequence) {
        for stage in stages {
            collect(stage, pipeline, shape)?;
        }
    }
    if let Some(jobs) = node.get("jobs").and_then(Value::as_sequence) {
        for job in jobs {
            collect(job, pipeline, shape)?;
        }
    }
    // Deployment jobs: strategy.runOnce.deploy.steps
    if let Some(deploy) = node
        .get("strategy")
        .and_then(|s| s.get("runOnce"))
        .and_then(|r| r.get("deploy"))
    {
        collect(deploy, pipeline, shape)?;
    }
    if let Some(steps) = node.get("steps") {
        let steps = steps
            .as_sequence()
            .ok_or_else(|| shape("'steps' must be a list".into()))?;
        for step in steps {
            pipeline.steps.push(read_step(step));
        }
    }
    Ok(())
}

fn read_variables(node: Option<&Value>, into: &mut BTreeMap<String, String>) {
    match node {
        Some(Value::Mapping(map)) => {
            for (k, v) in map {
                if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                    into.insert(k.to_string(), v);
                }
            }
        }
        Some(Value::Sequence(list)) => {
            for item in list {
                if let (Some(name), Some(value)) = (
                    item.get("name").and_then(Value::as_str),
                    item.get("value").and_then(scalar),
                ) {
                    into.insert(name.to_string(), value);
                }
            }
        }
        _ => {}
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn read_step(step: &Value) -> Step {
    let str_of = |key: &str| step.get(key).and_then(Value::as_str).map(str::to_string);
    if let Some(task) = str_of("task") {
        let (name, _major) = task.split_once('@').unwrap_or((task.as_str(), "1"));
        if TASKS.iter().any(|(t, _, _)| t.eq_ignore_ascii_case(name)) {
            let mut inputs = BTreeMap::new();
            if let Some(Value::Mapping(map)) = step.get("inputs") {
                for (k, v) in map {
                    if let (Some(k), Some(v)) = (k.as_str(), scalar(v)) {
                        inputs.insert(k.to_string(), v);
                    }
                }
            }
            return Step::Task {
                task: TASKS
                    .iter()
                    .find(|(t, _, _)| t.eq_ignore_ascii_case(name))
                    .map(|t| t.0)
                    .unwrap_or(name)
                    .into(),
                name: str_of("name"),
                display_name: str_of("displayName"),
                inputs,
            };
        }
        return Step::Other {
            description: format!("task {task}"),
        };
    }
    for kind in [
        "script",
        "bash",
        "pwsh",
        "powershell",
        "checkout",
        "download",
        "publish",
        "template",
    ] {
        if step.get(kind).is_some() {
            let label = str_of("displayName")
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            return Step::Other {
                description: format!("{kind} step{label}"),
            };
        }
    }
    Step::Other {
        description: "step".into(),
    }
}

/// Expand `$(name)` macros: pipeline variables (case-insensitive), then `step.output` variables. Unknown macros stay
/// as written, as on the agent.
pub fn expand(value: &str, variables: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(')') {
            Some(end) => {
                let name = &after[..end];
                match variables.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + 2 + end + 1]),
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Declared inputs of a task manifest: (name, type, default).
pub fn declared_inputs(manifest: &str) -> Vec<(String, String, String)> {
    let parsed: serde_json::Value = serde_json::from_str(manifest).unwrap_or_default();
    parsed["inputs"]
        .as_array()
        .map(|inputs| {
            inputs
                .iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or_default().to_string(),
                        i["type"].as_str().unwrap_or_default().to_string(),
                        match &i["defaultValue"] {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the task binaries are, and the workspace the steps talk to.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Folder holding `amlops-train` etc.
    pub bin_dir: PathBuf,
    /// Repository root: `System.DefaultWorkingDirectory`, relative file paths resolve against it.
    pub root: PathBuf,
    /// ARM URL of the workspace's service connection (the local workspace's base URL).
    pub arm_url: String,
    /// Subscription id given as the connection's data.
    pub subscription_id: String,
    /// When set, `resourceGroup` and `workspace` inputs are replaced with these (the local workspace serves one).
    pub workspace_override: Option<(String, String)>,
    /// Extra environment for every step (e.g. test timing knobs).
    pub extra_env: BTreeMap<String, String>,
    /// Base environment (PATH and the like) for every step.
    pub base_env: Vec<(String, String)>,
    /// The local workspace's token ([`amlops_local::LocalWorkspace::token`]): the service connection carries it
    /// (scheme `Token`), the tasks register it as a secret, and it is masked in what the run prints. `None` gives a
    /// connection without credential (a test server that asks for none).
    pub access_token: Option<String>,
}

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// Display name.
    pub title: String,
    /// `Succeeded`, `SucceededWithIssues`, `Failed`, `Canceled` or `Skipped`.
    pub result: String,
    /// Output variables it set.
    pub outputs: BTreeMap<String, String>,
    /// Error issues it logged.
    pub errors: Vec<String>,
    /// Markdown summaries it uploaded.
    pub summaries: Vec<PathBuf>,
}

/// The latest non-empty value of the output variable `name` among `reports` (the demo's later stages read what the
/// pipeline's steps set).
pub fn latest_output(reports: &[StepReport], name: &str) -> Result<String, String> {
    reports
        .iter()
        .rev()
        .find_map(|r| r.outputs.get(name).filter(|v| !v.is_empty()).cloned())
        .ok_or_else(|| format!("no earlier step set the output '{name}'"))
}

const CONNECTION_ID: &str = "6c1c6d2e-5f0a-4a8e-9a64-1c2d3e4f5a6b";

/// Run every step in order, printing each task's log. Stops at the first failed task step (later steps are
/// reported as not run), as a pipeline without `condition: always()` does.
pub async fn run_pipeline(
    pipeline: &Pipeline,
    settings: &RunSettings,
) -> Result<Vec<StepReport>, PipelineError> {
    let mut variables = pipeline.variables.clone();
    let mut reports = Vec::new();
    let mut failed = false;
    for (index, step) in pipeline.steps.iter().enumerate() {
        match step {
            Step::Other { description } => {
                println!(
                    "\n── step {}: {description}: skipped (not an amlops task)",
                    index + 1
                );
                reports.push(StepReport {
                    title: description.clone(),
                    result: "Skipped".into(),
                    outputs: BTreeMap::new(),
                    errors: Vec::new(),
                    summaries: Vec::new(),
                });
            }
            Step::Task {
                task,
                name,
                display_name,
                inputs,
            } => {
                let title = display_name
                    .clone()
                    .or(name.clone())
                    .unwrap_or_else(|| format!("{task}@1"));
                if failed {
                    println!(
                        "\n── step {}: {title}: not run (an earlier step failed)",
                        index + 1
                    );
                    reports.push(StepReport {
                        title,
                        result: "NotRun".into(),
                        outputs: BTreeMap::new(),
                        errors: Vec::new(),
                        summaries: Vec::new(),
                    });
                    continue;
                }
                println!("\n── step {}: {title} ({task}@1)", index + 1);
                let report =
                    run_task_step(task, name.as_deref(), &title, inputs, &variables, settings).await?;
                for (k, v) in &report.outputs {
                    if let Some(step_name) = name {
                        variables.insert(format!("{step_name}.{k}"), v.clone());
                    }
                }
                failed = matches!(report.result.as_str(), "Failed" | "Canceled");
                reports.push(report);
            }
        }
    }
    Ok(reports)
}

async fn run_task_step(
    task: &str,
    step_name: Option<&str>,
    title: &str,
    inputs: &BTreeMap<String, String>,
    variables: &BTreeMap<String, String>,
    settings: &RunSettings,
) -> Result<StepReport, PipelineError> {
    let (_, manifest, binary) = TASKS
        .iter()
        .find(|(t, _, _)| *t == task)
        .ok_or_else(|| PipelineError::Binary(format!("unknown task {task}")))?;
    let exe = settings
        .bin_dir
        .join(format!("{binary}{}", std::env::consts::EXE_SUFFIX));
    if !exe.exists() {
        return Err(PipelineError::Binary(format!(
            "the task binary {} does not exist; build it with `cargo build --release --bins`",
            exe.display()
        )));
    }
    let temp = settings
        .root
        .join(".amlops-agent")
        .join(step_name.unwrap_or(task));
    let _ = std::fs::create_dir_all(&temp);
    let root = settings.root.to_string_lossy().into_owned();
    let mut env: BTreeMap<String, String> = settings.base_env.iter().cloned().collect();
    for (k, v) in [
        ("TF_BUILD", "True"),
        ("SYSTEM_DEFAULTWORKINGDIRECTORY", root.as_str()),
        ("BUILD_SOURCESDIRECTORY", root.as_str()),
        ("AGENT_TEMPDIRECTORY", &temp.to_string_lossy()),
        ("SYSTEM_TASKINSTANCENAME", step_name.unwrap_or(task)),
        ("TASK_DISPLAYNAME", title),
    ] {
        env.insert(k.to_string(), v.to_string());
    }
    for (k, v) in variables {
        if !k.contains('.') || k.contains(' ') {
            env.insert(amlops_agent::env::variable_env_name(k), v.clone());
        } else {
            env.entry(amlops_agent::env::variable_env_name(k))
                .or_insert_with(|| v.clone());
        }
    }
    env.extend(settings.extra_env.clone());
    let mut overridden = Vec::new();
    for (name, kind, default) in declared_inputs(manifest) {
        let given = inputs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&name))
            .map(|(_, v)| expand(v, variables));
        let mut value = given.clone().unwrap_or(default);
        if kind.starts_with("connectedService") {
            value = CONNECTION_ID.to_string();
        } else if let Some((rg, ws)) = &settings.workspace_override {
            if name == "resourceGroup" && value != *rg {
                overridden.push(format!("resourceGroup {value:?} -> {rg:?}"));
                value = rg.clone();
            } else if name == "workspace" && value != *ws {
                overridden.push(format!("workspace {value:?} -> {ws:?}"));
                value = ws.clone();
            }
        }
        if kind == "filePath" {
            value = if value.trim().is_empty() {
                root.clone()
            } else if Path::new(value.trim()).is_relative() {
                settings.root.join(value.trim()).to_string_lossy().into_owned()
            } else {
                value
            };
        }
        env.insert(amlops_agent::env::input_env_name(&name), value.trim().to_string());
    }
    if !overridden.is_empty() {
        println!("   (local workspace: {})", overridden.join(", "));
    }
    let id = CONNECTION_ID;
    env.insert(format!("ENDPOINT_URL_{id}"), settings.arm_url.clone());
    let (scheme, parameters) = match &settings.access_token {
        Some(token) => ("Token", serde_json::json!({ "accessToken": token })),
        None => ("None", serde_json::json!({})),
    };
    env.insert(
        format!("ENDPOINT_AUTH_{id}"),
        serde_json::json!({"parameters": parameters, "scheme": scheme}).to_string(),
    );
    env.insert(format!("ENDPOINT_AUTH_SCHEME_{id}"), scheme.to_string());
    env.insert(
        format!("ENDPOINT_DATA_{id}_SUBSCRIPTIONID"),
        settings.subscription_id.clone(),
    );

    let mut child = tokio::process::Command::new(&exe)
        .env_clear()
        .envs(&env)
        .current_dir(&settings.root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| PipelineError::Binary(format!("cannot start {}: {e}", exe.display())))?;
    let mut report = StepReport {
        title: title.to_string(),
        result: "Succeeded".into(),
        outputs: BTreeMap::new(),
        errors: Vec::new(),
        summaries: Vec::new(),
    };
    let mut said: Option<String> = None;
    if let Some(stdout) = child.stdout.take() {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // The tasks mask the token they registered; this masks it again should anything print it raw.
            let line = match settings.access_token.as_deref().filter(|t| !t.is_empty()) {
                Some(token) if line.contains(token) => line.replace(token, "***"),
                _ => line,
            };
            show_line(&line, &mut report, &mut said);
        }
    }
    let status = child
        .wait()
        .await
        .map_err(|e| PipelineError::Binary(format!("waiting for {binary}: {e}")))?;
    let said = said.unwrap_or_else(|| "Succeeded".into());
    report.result = if status.success() {
        said
    } else if said == "Canceled" {
        "Canceled".into()
    } else {
        "Failed".into()
    };
    println!("   => {}", report.result);
    Ok(report)
}

fn show_line(line: &str, report: &mut StepReport, said: &mut Option<String>) {
    if let Some(rest) = line.strip_prefix("##[") {
        let (kind, text) = rest.split_once(']').unwrap_or(("", rest));
        match kind {
            "group" => println!("   ▸ {text}"),
            "endgroup" => {}
            "section" => println!("   ■ {text}"),
            "warning" => println!("   warning: {text}"),
            "error" => println!("   error: {text}"),
            "debug" => {}
            _ => println!("   {text}"),
        }
        return;
    }
    let Some(cmd) = parse_command(line, true) else {
        println!("   {line}");
        return;
    };
    match cmd.name().to_ascii_lowercase().as_str() {
        "task.setvariable" => {
            let name = cmd.property("variable").unwrap_or_default().to_string();
            let secret = cmd
                .property("issecret")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            println!(
                "   output {name} = {}",
                if secret { "***" } else { cmd.data.as_str() }
            );
            report.outputs.insert(name, cmd.data.clone());
        }
        "task.logissue" => {
            let kind = cmd.property("type").unwrap_or("issue");
            println!("   {kind}: {}", cmd.data);
            if kind.eq_ignore_ascii_case("error") {
                report.errors.push(cmd.data.clone());
            }
        }
        "task.complete" => *said = cmd.property("result").map(str::to_string),
        "task.uploadsummary" => report.summaries.push(PathBuf::from(&cmd.data)),
        "artifact.upload" => {
            println!(
                "   artifact {}: {}",
                cmd.property("artifactname").unwrap_or_default(),
                cmd.data
            )
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_jobs_and_steps_flatten_in_order() {
        let text = r#"
variables:
  conn: ml
stages:
- stage: Train
  variables:
  - name: ws
    value: w1
  jobs:
  - job: t
    steps:
    - checkout: self
    - task: AzureMLTrain@1
      name: train
      inputs:
        azureSubscription: $(conn)
        jobFile: job.yml
- stage: Release
  jobs:
  - deployment: d
    strategy:
      runOnce:
        deploy:
          steps:
          - task: azuremldeploy@1
            inputs:
              model: $(train.jobName)
          - script: echo done
            displayName: Done
"#;
        let p = parse_pipeline_text(text, Path::new("p.yml")).unwrap();
        assert_eq!(p.variables.get("conn").unwrap(), "ml");
        assert_eq!(p.variables.get("ws").unwrap(), "w1");
        assert_eq!(p.steps.len(), 4);
        assert_eq!(
            p.steps[0],
            Step::Other {
                description: "checkout step".into()
            }
        );
        assert!(
            matches!(&p.steps[1], Step::Task { task, name: Some(n), .. } if task == "AzureMLTrain" && n == "train")
        );
        assert!(matches!(&p.steps[2], Step::Task { task, .. } if task == "AzureMLDeploy"));
        assert_eq!(
            p.steps[3],
            Step::Other {
                description: "script step (Done)".into()
            }
        );
    }

    #[test]
    fn macros_expand_and_unknown_ones_stay() {
        let mut vars = BTreeMap::new();
        vars.insert("Conn".to_string(), "ml".to_string());
        vars.insert("train.jobName".to_string(), "j-1".to_string());
        assert_eq!(
            expand("$(conn)/$(train.jobName)/$(nope)/$(", &vars),
            "ml/j-1/$(nope)/$("
        );
    }

    #[test]
    fn bad_pipelines_are_named() {
        let err = parse_pipeline_text("steps: [\n", Path::new("p.yml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("p.yml:") && err.contains("line"), "{err}");
        let err = parse_pipeline_text("trigger: none\n", Path::new("p.yml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no steps"), "{err}");
        let err = parse_pipeline_text("steps: 3\n", Path::new("p.yml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("'steps' must be a list"), "{err}");
    }

    #[test]
    fn every_manifest_declares_the_connection_input() {
        for (task, manifest, _) in TASKS {
            let inputs = declared_inputs(manifest);
            assert!(
                inputs
                    .iter()
                    .any(|(n, k, _)| n == "azureSubscription" && k == "connectedService:AzureRM"),
                "{task}"
            );
        }
    }
}
