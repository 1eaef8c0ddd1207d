//! Job names: the deterministic default, the names of resubmissions, and Azure ML's rule.
//!
//! The default name is derived from the pipeline run and the step (collection, project, build id, stage, job,
//! step) and never from the attempt, so re-running a stage finds the job its first attempt submitted. A job that
//! failed is submitted again under `<name>-retry<n>` (n = 2, 3, ...), a chain that a later attempt follows too.

use amlops_agent::PipelineContext;
use sha2::{Digest, Sha256};

/// Longest job name Azure ML accepts (`^[a-zA-Z0-9][\w-]{0,255}$`).
pub const MAX_JOB_NAME: usize = 256;

/// Whether `name` matches Azure ML's job name rule `^[a-zA-Z0-9][\w-]{0,255}$` (ASCII).
pub fn is_valid_job_name(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    name.len() <= MAX_JOB_NAME
        && first.is_ascii_alphanumeric()
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// `text` reduced to lower-case `[a-z0-9-]`, runs of other characters becoming one `-`, trimmed of `-`.
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The default job name for a step of a pipeline run, or `None` outside a pipeline run (no build id).
///
/// Form: `<pipeline>-<build id>-<step>-<hash>`, where the readable parts are slugs cut to keep the name short and
/// `<hash>` is the first 10 hex digits of SHA-256 over collection, project, build id, stage, job and step, so two
/// steps of one run never share a name even when their readable parts do.
pub fn default_job_name(pipeline: &PipelineContext) -> Option<String> {
    let build_id = pipeline.build_id.as_deref()?;
    let key = [
        pipeline.collection_uri.as_deref().unwrap_or(""),
        pipeline.team_project.as_deref().unwrap_or(""),
        build_id,
        pipeline.stage_name.as_deref().unwrap_or(""),
        pipeline.job_name.as_deref().unwrap_or(""),
        pipeline.step_name.as_deref().unwrap_or(""),
    ]
    .join("\n");
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    let cut = |s: &str, n: usize| -> String {
        let s: String = slug(s).chars().take(n).collect();
        s.trim_matches('-').to_string()
    };
    let mut parts = Vec::new();
    let pipeline_part = cut(pipeline.definition_name.as_deref().unwrap_or("ado"), 40);
    parts.push(if pipeline_part.is_empty() {
        "ado".to_string()
    } else {
        pipeline_part
    });
    parts.push(cut(build_id, 20));
    if let Some(step) = pipeline.step_name.as_deref() {
        parts.push(cut(step, 40));
    }
    parts.push(hash[..10].to_string());
    let name = parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    Some(name)
}

/// A fresh name for a run outside a pipeline: `amlops-<uuid>` (nothing to re-attach to).
pub fn adhoc_job_name() -> String {
    format!("amlops-{}", uuid::Uuid::new_v4().simple())
}

/// The name of the `n`-th submission of `base` (`n` = 1 is `base` itself; 2 gives `<base>-retry2`). The base is
/// shortened if needed so the result stays valid.
pub fn attempt_name(base: &str, n: u32) -> String {
    if n <= 1 {
        return base.to_string();
    }
    let suffix = format!("-retry{n}");
    let keep = base.len().min(MAX_JOB_NAME - suffix.len());
    format!("{}{suffix}", &base[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PipelineContext {
        PipelineContext {
            collection_uri: Some("https://dev.azure.com/contoso/".into()),
            team_project: Some("mlops".into()),
            build_id: Some("1234".into()),
            definition_name: Some("Churn Train (CI)".into()),
            stage_name: Some("Train".into()),
            job_name: Some("train_job".into()),
            step_name: Some("AzureMLTrain1".into()),
            job_attempt: Some(1),
            ..PipelineContext::default()
        }
    }

    #[test]
    fn default_name_is_readable_valid_and_ignores_the_attempt() {
        let first = default_job_name(&ctx()).unwrap();
        assert!(first.starts_with("churn-train-ci-1234-azuremltrain1-"), "{first}");
        assert!(is_valid_job_name(&first), "{first}");
        let mut again = ctx();
        again.job_attempt = Some(3);
        assert_eq!(default_job_name(&again).unwrap(), first);
    }

    #[test]
    fn default_name_differs_per_step_stage_and_run() {
        let base = default_job_name(&ctx()).unwrap();
        let mut other_step = ctx();
        other_step.step_name = Some("AzureMLTrain2".into());
        let mut other_stage = ctx();
        other_stage.stage_name = Some("Retrain".into());
        let mut other_run = ctx();
        other_run.build_id = Some("1235".into());
        let names = [
            default_job_name(&other_step).unwrap(),
            default_job_name(&other_stage).unwrap(),
            default_job_name(&other_run).unwrap(),
        ];
        for n in &names {
            assert_ne!(n, &base);
            assert!(is_valid_job_name(n), "{n}");
        }
        // Same readable parts, different stage: only the hash tells them apart.
        assert_eq!(names[1][..names[1].len() - 10], base[..base.len() - 10]);
    }

    #[test]
    fn no_build_id_means_no_default() {
        assert_eq!(default_job_name(&PipelineContext::default()), None);
        let adhoc = adhoc_job_name();
        assert!(
            is_valid_job_name(&adhoc) && adhoc.starts_with("amlops-"),
            "{adhoc}"
        );
        assert_ne!(adhoc, adhoc_job_name());
    }

    #[test]
    fn odd_pipeline_names_still_give_valid_names() {
        let mut c = ctx();
        c.definition_name = Some("ÉÀ ***".into());
        c.step_name = Some("x".repeat(500));
        let name = default_job_name(&c).unwrap();
        assert!(is_valid_job_name(&name), "{name}");
        assert!(name.len() < 140, "{}", name.len());
    }

    #[test]
    fn attempt_names_chain_and_stay_valid() {
        assert_eq!(attempt_name("job-a", 1), "job-a");
        assert_eq!(attempt_name("job-a", 2), "job-a-retry2");
        assert_eq!(attempt_name("job-a", 13), "job-a-retry13");
        let long = "a".repeat(256);
        let n = attempt_name(&long, 7);
        assert!(is_valid_job_name(&n), "{}", n.len());
        assert!(n.ends_with("-retry7"));
    }

    #[test]
    fn the_rule() {
        assert!(is_valid_job_name("a"));
        assert!(is_valid_job_name("A_b-9"));
        assert!(!is_valid_job_name(""));
        assert!(!is_valid_job_name("-a"));
        assert!(!is_valid_job_name("_a"));
        assert!(!is_valid_job_name("a.b"));
        assert!(!is_valid_job_name(&"a".repeat(257)));
        assert_eq!(slug("  Hello, World!! "), "hello-world");
    }
}
