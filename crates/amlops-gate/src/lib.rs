//! AzureMLGate@1: metric, champion/challenger and data-drift release gates.
//!
//! - [`rules`]: the rules language (parser with precise errors, evaluator), from the shared `amlops-rules` crate.
//! - [`backend`]: [`GateBackend`], what the gate needs from Azure ML, and the references users write.
//! - [`azure`]: [`azure::AzureBackend`], [`GateBackend`] implemented with the `amlops-azureml` REST client.
//! - [`gate`]: candidate and champion resolution, rule evaluation, drift through `amlops-drift`, the verdict.
//! - [`live`]: live inference data (`endpoint:` targets over a window of hour folders) and `model:` baselines.
//! - [`report`]: the markdown build summary and the JSON report.
//! - [`inputs`]: the task's inputs, validated into a [`GateConfig`].
//! - [`events`]: `drift.detected`, `gate.passed` and `gate.failed` through `amlops-events` (log, summary, audit
//!   trail, webhooks from the `notify` inputs).
//!
//! [`run`] is the task; [`execute`] runs it with any backend (tests pass an in-memory fake).

pub mod azure;
pub mod backend;
pub mod events;
pub mod gate;
pub mod inputs;
pub mod live;
pub mod report;
pub use amlops_rules as rules;

use std::path::{Path, PathBuf};

use amlops_agent::{Issue, Outcome, TaskContext, TaskError};

pub use backend::{BackendError, EndpointTraffic, GateBackend, ModelRef, ModelVersion, TagFilter};
pub use gate::{GateConfig, GateError, GateMode, GateReport, RuleResult, RuleVerdict};
pub use inputs::GateInputs;

/// The artifact the JSON report is uploaded to.
pub const REPORT_ARTIFACT: &str = "amlops-gate";

/// Run the task.
pub async fn run(ctx: TaskContext) -> Result<Outcome, TaskError> {
    let inputs = GateInputs::read(&ctx)?;
    let backend = match &inputs.workspace {
        Some(workspace) => Some(azure::AzureBackend::connect(&ctx, workspace)?),
        None => None,
    };
    execute(&ctx, &inputs, backend.as_ref().map(|b| b as &dyn GateBackend)).await
}

/// Run the gate with `backend` (needed when the configuration calls Azure ML): evaluate, log, set the outputs,
/// upload the summary and the JSON report, and map the verdict to the outcome.
pub async fn execute(
    ctx: &TaskContext,
    inputs: &GateInputs,
    backend: Option<&dyn GateBackend>,
) -> Result<Outcome, TaskError> {
    let out = &ctx.output;
    let config = &inputs.config;
    // Reads notify, notifyOn, notifySecret and failOnNotifyError, registering their secrets first.
    let emitter = amlops_events::Emitter::from_task(ctx, events::workspace_info(inputs.workspace.as_ref()))?;
    let work_dir = work_dir(ctx)?;
    let working_directory = ctx.pipeline.working_directory.clone();
    let resolve_local = move |given: &str| -> PathBuf {
        let p = PathBuf::from(given);
        match &working_directory {
            Some(base) if p.is_relative() => base.join(p),
            _ => p,
        }
    };
    // Every Azure ML call observes the token itself; this also stops waiting for a drift computation.
    let report = tokio::select! {
        report = gate::evaluate(config, backend, &work_dir, &resolve_local) => report?,
        () = ctx.cancel.cancelled() => return Err(Box::new(amlops_agent::Canceled)),
    };
    log_report(ctx, &report);

    let failed: Vec<String> = report.failed_rules().iter().map(|r| r.rule.clone()).collect();
    let drifted = report.drifted_columns();
    let passed = report.passed() && report.warnings.is_empty();
    out.set_output("gatePassed", if passed { "true" } else { "false" });
    out.set_output("failedRules", &failed.join("\n"));
    out.set_output("driftedColumns", &drifted.join(","));

    let summary_path = work_dir.join("gate-summary.md");
    write_file(&summary_path, &report::markdown(&report))?;
    out.upload_summary(&summary_path);
    let run = serde_json::json!({
        "buildId": ctx.pipeline.build_id,
        "buildNumber": ctx.pipeline.build_number,
        "runUrl": ctx.pipeline.run_url(),
        "step": ctx.pipeline.step_name,
    });
    let json = report::json_report(&report, run);
    let report_name = match &ctx.pipeline.step_name {
        Some(step) => format!("gate-report-{}.json", sanitize(step)),
        None => "gate-report.json".to_string(),
    };
    let report_path = work_dir.join(report_name);
    write_file(
        &report_path,
        &serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string()),
    )?;
    out.upload_artifact(REPORT_ARTIFACT, REPORT_ARTIFACT, &report_path);
    // The HTML report beside it: histograms and every metric, for people (opens in a browser).
    let html_path = report_path.with_extension("html");
    write_file(&html_path, &report::html(&report))?;
    out.upload_artifact(REPORT_ARTIFACT, REPORT_ARTIFACT, &html_path);

    for event in events::gate_events(&report) {
        emitter.emit(event).await;
    }
    emitter.finish().await?;

    let headline = report.headline();
    if !report.warnings.is_empty() && report.passed() {
        Ok(Outcome::with_issues(format!(
            "{headline}; not checked: {} (mode: warn)",
            report.warnings.join("; ")
        )))
    } else if report.passed() {
        Ok(Outcome::succeeded(headline))
    } else {
        match config.mode {
            GateMode::Warn => Ok(Outcome::with_issues(format!("{headline} (mode: warn)"))),
            GateMode::Fail => Err(GateError::Failed(headline).into()),
        }
    }
}

fn work_dir(ctx: &TaskContext) -> Result<PathBuf, GateError> {
    let base = ctx.pipeline.temp_dir();
    std::fs::create_dir_all(&base)
        .map_err(|e| GateError::Config(format!("cannot create the folder {}: {e}", base.display())))?;
    let dir = tempfile::Builder::new()
        .prefix("amlops-gate-")
        .tempdir_in(&base)
        .map_err(|e| GateError::Config(format!("cannot create a folder in {}: {e}", base.display())))?;
    // The agent reads the summary and the report after the task has exited: keep the folder.
    Ok(dir.keep())
}

fn write_file(path: &Path, text: &str) -> Result<(), GateError> {
    std::fs::write(path, text).map_err(|e| GateError::Config(format!("cannot write {}: {e}", path.display())))
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn log_report(ctx: &TaskContext, report: &GateReport) {
    let out = &ctx.output;
    let warn = report.mode == GateMode::Warn;
    let issue = |message: String| {
        if warn {
            Issue::warning(message)
        } else {
            Issue::error(message)
        }
    };
    if let Some(c) = &report.candidate {
        out.line(&format!("Candidate: {}", c.description));
    }
    if let Some(c) = &report.champion {
        out.line(&format!("Champion: {}", c.description));
    }
    for n in &report.notices {
        out.line(&format!("Notice: {n}"));
    }
    for w in &report.warnings {
        out.log_issue(&Issue::warning(w.clone()));
    }
    if !report.rules.is_empty() {
        out.group(&format!("Rules ({})", report.rules.len()));
        for r in &report.rules {
            let mut line = format!("[{}] {}", r.verdict.as_str(), r.rule);
            if let Some(m) = &r.message {
                line.push_str(" — ");
                line.push_str(m);
            }
            out.line(&line);
        }
        out.end_group();
        for r in report.failed_rules() {
            let detail = r.message.as_deref().unwrap_or("it does not hold");
            out.log_issue(&issue(format!("rule `{}` failed: {detail}", r.rule)));
        }
    }
    if let Some(d) = &report.drift {
        for w in &d.report.warnings {
            out.log_issue(&Issue::warning(w.clone()));
        }
        out.group(&format!(
            "Data drift ({} columns, {} baseline rows, {} target rows)",
            d.report.columns.len(),
            d.report.rows_baseline,
            d.report.rows_target
        ));
        for c in &d.report.columns {
            let values: Vec<String> = c
                .metrics
                .iter()
                .map(|m| {
                    let mark = match m.drift {
                        Some(true) => " (drift)",
                        _ => "",
                    };
                    format!("{}={}{mark}", m.metric.as_str(), gate::format_number(m.value))
                })
                .collect();
            out.line(&format!(
                "{} [{}]: {}",
                c.name,
                c.kind.as_str(),
                values.join(", ")
            ));
        }
        out.end_group();
        for c in d.report.columns.iter().filter(|c| c.drifted()) {
            let breaches: Vec<String> = c
                .metrics
                .iter()
                .filter(|m| m.drift == Some(true))
                .map(|m| {
                    format!(
                        "{} = {} (threshold {})",
                        m.metric.as_str(),
                        gate::format_number(m.value),
                        m.threshold.map(gate::format_number).unwrap_or_default()
                    )
                })
                .collect();
            out.log_issue(&issue(format!(
                "column '{}' drifted: {}",
                c.name,
                breaches.join(", ")
            )));
        }
        for problem in d.report.not_computed() {
            out.log_issue(&issue(problem));
        }
    }
}
