//! The task's inputs (names as in `task-manifests/AzureMLGateV1/task.json`), validated.
//!
//! `azureSubscription`, `resourceGroup` and `workspace` are read only when the gate calls Azure ML: when there are
//! rules, or when `baselineData`/`targetData` name `azureml:` data. A gate on local data drift alone runs without
//! them.

use amlops_agent::{AzureRmConnection, TaskContext};
use amlops_drift::Thresholds;

use crate::backend::{ModelRef, TagFilter};
use crate::gate::{
    CandidateSource, ChampionSource, DriftInputs, GateConfig, GateError, GateMode, split_list,
};
use crate::rules::{RuleOrigin, parse_rules};

/// The Azure ML workspace the gate works on.
#[derive(Debug, Clone)]
pub struct WorkspaceInputs {
    /// `azureSubscription`.
    pub connection: AzureRmConnection,
    /// `resourceGroup`.
    pub resource_group: String,
    /// `workspace`.
    pub workspace: String,
}

/// The validated inputs.
#[derive(Debug, Clone)]
pub struct GateInputs {
    /// What to evaluate.
    pub config: GateConfig,
    /// The workspace, read when [`GateConfig::needs_azure`].
    pub workspace: Option<WorkspaceInputs>,
}

impl GateInputs {
    /// Read and validate the inputs. The service connection is read (and its secrets registered) only when the
    /// gate needs Azure ML.
    pub fn read(ctx: &TaskContext) -> Result<Self, GateError> {
        let config = read_config(ctx)?;
        let workspace = if config.needs_azure() {
            let i = ctx.inputs();
            Some(WorkspaceInputs {
                connection: ctx.azure_rm_connection("azureSubscription")?,
                resource_group: i.required_string("resourceGroup")?,
                workspace: i.required_string("workspace")?,
            })
        } else {
            None
        };
        Ok(Self { config, workspace })
    }
}

/// Read the gate's configuration (everything but the workspace).
pub fn read_config(ctx: &TaskContext) -> Result<GateConfig, GateError> {
    let i = ctx.inputs();
    let mut rules = parse_rules(&ctx.inputs().raw("rules"), &RuleOrigin::Input("rules".into()))
        .inspect_err(|e| ctx.output.line(&e.pointer()))?;
    if let Some(path) = i.file_path("rulesFile") {
        let text = std::fs::read_to_string(&path).map_err(|source| GateError::RulesFile {
            path: path.clone(),
            source,
        })?;
        let from_file =
            parse_rules(&text, &RuleOrigin::File(path)).inspect_err(|e| ctx.output.line(&e.pointer()))?;
        if from_file.is_empty() {
            ctx.output
                .warning("the rules file (input 'rulesFile') holds no rules");
        }
        rules.extend(from_file);
    }

    let candidate = match (i.string("candidateJob"), i.string("candidateModel")) {
        (Some(_), Some(_)) => {
            return Err(GateError::Config(
                "set either 'candidateJob' or 'candidateModel', not both".into(),
            ));
        }
        (Some(job), None) => Some(CandidateSource::Job(job)),
        (None, Some(model)) => Some(CandidateSource::Model(ModelRef::parse(&model).map_err(
            |source| GateError::ModelRef {
                input: "candidateModel",
                source,
            },
        )?)),
        (None, None) => None,
    };
    let tag = i.string("championTag").and_then(|t| TagFilter::parse(&t));
    let champion = match (i.string("championEndpoint"), i.string("championModel")) {
        (Some(_), Some(_)) => {
            return Err(GateError::Config(
                "set either 'championEndpoint' or 'championModel', not both".into(),
            ));
        }
        (Some(endpoint), None) => {
            if tag.is_some() {
                ctx.output.warning(
                    "'championTag' applies to 'championModel' only; it is ignored with 'championEndpoint'",
                );
            }
            Some(ChampionSource::Endpoint(endpoint))
        }
        (None, Some(model)) => Some(ChampionSource::Model {
            model: ModelRef::parse(&model).map_err(|source| GateError::ModelRef {
                input: "championModel",
                source,
            })?,
            tag,
        }),
        (None, None) => None,
    };

    let drift = match (i.string("baselineData"), i.string("targetData")) {
        (Some(baseline), Some(target)) => Some(DriftInputs {
            baseline,
            target,
            columns: split_list(i.string("driftColumns")),
            categorical: split_list(i.string("categoricalColumns")),
            thresholds: Thresholds::parse(&ctx.inputs().raw("driftThresholds")).map_err(|e| {
                GateError::DriftInput {
                    input: "driftThresholds",
                    problem: e.to_string(),
                }
            })?,
            live: read_live(ctx)?,
        }),
        (Some(_), None) => {
            return Err(GateError::Config(
                "'baselineData' is set but 'targetData' is not: give both to check data drift".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(GateError::Config(
                "'targetData' is set but 'baselineData' is not: give both to check data drift".into(),
            ));
        }
        (None, None) => None,
    };
    if rules.is_empty() && drift.is_none() {
        return Err(GateError::Config(
            "nothing to gate: give rules ('rules' or 'rulesFile'), or 'baselineData' and 'targetData' for a data \
             drift check"
                .into(),
        ));
    }
    let ignored = |names: &[&str], why: &str| {
        for name in names.iter().filter(|n| i.string(n).is_some()) {
            ctx.output
                .warning(&format!("the input '{name}' is ignored: {why}"));
        }
    };
    if drift.is_none() {
        ignored(
            &[
                "driftColumns",
                "categoricalColumns",
                "driftThresholds",
                "baselineInput",
            ],
            "no drift check without 'baselineData' and 'targetData'",
        );
    }
    if rules.is_empty() {
        ignored(
            &[
                "candidateJob",
                "candidateModel",
                "championEndpoint",
                "championModel",
                "championTag",
            ],
            "there are no rules",
        );
    }
    let mode = match i.pick_list("mode", &["fail", "warn"], "fail")?.as_str() {
        "warn" => GateMode::Warn,
        _ => GateMode::Fail,
    };
    Ok(GateConfig {
        rules,
        candidate,
        champion,
        require_champion: i.bool_or("requireChampion", false),
        drift,
        mode,
    })
}

/// `targetWindow` (default `24h`) and `baselineInput`.
fn read_live(ctx: &TaskContext) -> Result<crate::live::LiveOptions, GateError> {
    let i = ctx.inputs();
    let window = i.string_or("targetWindow", "24h");
    let window_hours = crate::live::parse_window(&window).map_err(|problem| GateError::DriftInput {
        input: "targetWindow",
        problem,
    })?;
    Ok(crate::live::LiveOptions {
        window_hours,
        baseline_input: i.string("baselineInput"),
        now: None,
    })
}
