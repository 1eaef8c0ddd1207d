//! What the task publishes: metric output names, governance tags, the studio link and the build summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use amlops_agent::{AzureEnvironment, PipelineContext};

use crate::status::JobStatus;

/// The output variable of a metric: `metric_<name>` with the name reduced to `[A-Za-z0-9_]` (every other
/// character becomes `_`).
pub fn metric_output_name(metric: &str) -> String {
    let reduced: String = metric
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("metric_{reduced}")
}

/// The governance tags merged into the job's own (ours win on a clash): build id, run URL, commit, repository,
/// branch, requested for, build reason, pipeline name. Values that the run does not have are left out.
pub fn governance_tags(p: &PipelineContext) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            tags.insert(k.to_string(), v);
        }
    };
    put("amlops.buildId", p.build_id.clone());
    put("amlops.runUrl", p.run_url());
    put("amlops.commit", p.source_version.clone());
    put("amlops.repository", p.repository.clone());
    put("amlops.branch", p.branch_short().map(str::to_string));
    put("amlops.requestedFor", p.requested_for.clone());
    put("amlops.buildReason", p.build_reason.clone());
    put("amlops.pipeline", p.definition_name.clone());
    tags
}

/// The studio's host for a cloud.
pub fn studio_host(environment: &AzureEnvironment) -> &'static str {
    match environment {
        AzureEnvironment::AzureUsGovernment => "https://ml.azure.us",
        AzureEnvironment::AzureChinaCloud => "https://studio.ml.azure.cn",
        _ => "https://ml.azure.com",
    }
}

/// A job's page in Azure ML studio:
/// `{host}/runs/{job}?wsid=/subscriptions/{s}/resourcegroups/{g}/workspaces/{w}` (+ `&tid={tenant}`).
pub fn studio_url(
    environment: &AzureEnvironment,
    subscription: &str,
    resource_group: &str,
    workspace: &str,
    job: &str,
    tenant: Option<&str>,
) -> String {
    let mut url = format!(
        "{}/runs/{job}?wsid=/subscriptions/{subscription}/resourcegroups/{resource_group}/workspaces/{workspace}",
        studio_host(environment)
    );
    if let Some(t) = tenant.filter(|t| !t.is_empty()) {
        let _ = write!(url, "&tid={t}");
    }
    url
}

/// One step of a pipeline job, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    /// The step's name.
    pub name: String,
    /// Its status.
    pub status: JobStatus,
    /// Its duration, when known.
    pub duration: Option<Duration>,
}

/// Everything the build summary shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryData {
    /// The job.
    pub job_name: String,
    /// Display name, if different.
    pub display_name: Option<String>,
    /// Its type (Command, Pipeline, Sweep).
    pub job_type: Option<String>,
    /// Experiment.
    pub experiment: Option<String>,
    /// Final status.
    pub status: JobStatus,
    /// Duration, when known.
    pub duration: Option<Duration>,
    /// Compute (the last segment of the compute id, or `serverless`).
    pub compute: Option<String>,
    /// Final metrics: (step or empty, name, value).
    pub metrics: Vec<(String, String, f64)>,
    /// Pipeline steps.
    pub steps: Vec<StepRow>,
    /// The job's error, if it failed.
    pub error: Option<String>,
    /// Studio link.
    pub studio_url: String,
    /// Whether this run re-attached to a job submitted earlier.
    pub reattached: bool,
}

/// `1h 02m 03s`, `4m 05s`, `6s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {s:02}s")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn status_icon(status: &JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "✅",
        JobStatus::Failed | JobStatus::NotResponding => "❌",
        JobStatus::Canceled => "⛔",
        _ => "⏳",
    }
}

/// The markdown build summary.
pub fn summary_markdown(d: &SummaryData) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### Azure ML job `{}`\n", cell(&d.job_name));
    let _ = writeln!(md, "| | |\n|---|---|");
    let _ = writeln!(md, "| Status | {} {} |", status_icon(&d.status), d.status);
    if let Some(n) = d.display_name.as_deref().filter(|n| *n != d.job_name) {
        let _ = writeln!(md, "| Display name | {} |", cell(n));
    }
    if let Some(t) = &d.job_type {
        let _ = writeln!(md, "| Type | {} |", cell(t));
    }
    if let Some(e) = &d.experiment {
        let _ = writeln!(md, "| Experiment | {} |", cell(e));
    }
    if let Some(dur) = d.duration {
        let _ = writeln!(md, "| Duration | {} |", format_duration(dur));
    }
    let _ = writeln!(
        md,
        "| Compute | {} |",
        cell(d.compute.as_deref().unwrap_or("serverless"))
    );
    if d.reattached {
        let _ = writeln!(
            md,
            "| Note | re-attached to the job submitted by an earlier attempt |"
        );
    }
    let _ = writeln!(
        md,
        "| Studio | [open the job in Azure ML studio]({}) |",
        d.studio_url
    );
    if let Some(e) = &d.error {
        let _ = writeln!(md, "\n**Error:** {}", cell(e));
    }
    if !d.steps.is_empty() {
        let _ = writeln!(
            md,
            "\n#### Pipeline steps\n\n| Step | Status | Duration |\n|---|---|---|"
        );
        for s in &d.steps {
            let _ = writeln!(
                md,
                "| {} | {} {} | {} |",
                cell(&s.name),
                status_icon(&s.status),
                s.status,
                s.duration.map(format_duration).unwrap_or_default()
            );
        }
    }
    if !d.metrics.is_empty() {
        let with_steps = d.metrics.iter().any(|(step, _, _)| !step.is_empty());
        if with_steps {
            let _ = writeln!(md, "\n#### Metrics\n\n| Step | Metric | Value |\n|---|---|---|");
        } else {
            let _ = writeln!(md, "\n#### Metrics\n\n| Metric | Value |\n|---|---|");
        }
        for (step, name, value) in &d.metrics {
            if with_steps {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} |",
                    cell(step),
                    cell(name),
                    format_value(*value)
                );
            } else {
                let _ = writeln!(md, "| {} | {} |", cell(name), format_value(*value));
            }
        }
    }
    md
}

/// A metric value as an output variable and in the summary: integers without a fraction, others as Rust prints
/// them (shortest round-trip form).
pub fn format_value(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert_eq!(metric_output_name("accuracy"), "metric_accuracy");
        assert_eq!(metric_output_name("val/f1-score"), "metric_val_f1_score");
        assert_eq!(metric_output_name("AUC weighted"), "metric_AUC_weighted");
        assert_eq!(metric_output_name("ü"), "metric__");
    }

    #[test]
    fn tags_from_the_run() {
        let p = PipelineContext {
            collection_uri: Some("https://dev.azure.com/contoso/".into()),
            team_project: Some("ml ops".into()),
            build_id: Some("77".into()),
            source_version: Some("abc123".into()),
            source_branch: Some("refs/heads/main".into()),
            repository: Some("contoso/churn".into()),
            requested_for: Some("Ada".into()),
            build_reason: Some("Manual".into()),
            definition_name: Some("churn-train".into()),
            ..PipelineContext::default()
        };
        let t = governance_tags(&p);
        assert_eq!(t["amlops.buildId"], "77");
        assert_eq!(
            t["amlops.runUrl"],
            "https://dev.azure.com/contoso/ml%20ops/_build/results?buildId=77"
        );
        assert_eq!(t["amlops.commit"], "abc123");
        assert_eq!(t["amlops.repository"], "contoso/churn");
        assert_eq!(t["amlops.branch"], "main");
        assert_eq!(t["amlops.requestedFor"], "Ada");
        assert_eq!(t["amlops.buildReason"], "Manual");
        assert_eq!(t["amlops.pipeline"], "churn-train");
        assert_eq!(t.len(), 8);
        assert!(governance_tags(&PipelineContext::default()).is_empty());
    }

    #[test]
    fn studio_links() {
        let url = studio_url(
            &AzureEnvironment::AzureCloud,
            "sub",
            "rg",
            "ws",
            "job-1",
            Some("tid-1"),
        );
        assert_eq!(
            url,
            "https://ml.azure.com/runs/job-1?wsid=/subscriptions/sub/resourcegroups/rg/workspaces/ws&tid=tid-1"
        );
        let gov = studio_url(&AzureEnvironment::AzureUsGovernment, "s", "g", "w", "j", None);
        assert!(gov.starts_with("https://ml.azure.us/runs/j?wsid="), "{gov}");
    }

    #[test]
    fn summary_has_status_duration_compute_steps_metrics_and_link() {
        let d = SummaryData {
            job_name: "job-1".into(),
            display_name: Some("train | fast".into()),
            job_type: Some("Pipeline".into()),
            experiment: Some("churn".into()),
            status: JobStatus::Completed,
            duration: Some(Duration::from_secs(3723)),
            compute: Some("cpu-cluster".into()),
            metrics: vec![
                ("train".into(), "accuracy".into(), 0.93),
                ("train".into(), "epochs".into(), 10.0),
            ],
            steps: vec![StepRow {
                name: "train".into(),
                status: JobStatus::Completed,
                duration: Some(Duration::from_secs(65)),
            }],
            error: None,
            studio_url: "https://ml.azure.com/runs/job-1".into(),
            reattached: false,
        };
        let md = summary_markdown(&d);
        assert!(md.contains("| Status | ✅ Completed |"), "{md}");
        assert!(md.contains("| Display name | train \\| fast |"), "{md}");
        assert!(md.contains("| Duration | 1h 02m 03s |"), "{md}");
        assert!(md.contains("| Compute | cpu-cluster |"), "{md}");
        assert!(md.contains("| train | ✅ Completed | 1m 05s |"), "{md}");
        assert!(md.contains("| train | accuracy | 0.93 |"), "{md}");
        assert!(md.contains("| train | epochs | 10 |"), "{md}");
        assert!(md.contains("(https://ml.azure.com/runs/job-1)"), "{md}");
        assert_eq!(format_duration(Duration::from_secs(6)), "6s");
    }
}
