//! The governance record written as properties on the registered version (immutable there), and the
//! idempotency key that lets a re-run of the same step find the version it created before.
//!
//! Property keys (stable: other tasks and people query them):
//!
//! | Key | Value |
//! |---|---|
//! | `amlops.publishedBy` | the run's requested-for name (`Build.RequestedFor`) |
//! | `amlops.publishedByEmail` | its e-mail (`Build.RequestedForEmail`) |
//! | `amlops.reason` | the `reason` input, else the commit message's first line and the build reason |
//! | `amlops.publishedAt` | UTC time, RFC 3339 (`2026-11-26T07:30:00Z`) |
//! | `amlops.buildId`, `amlops.buildNumber` | `Build.BuildId`, `Build.BuildNumber` |
//! | `amlops.runUrl` | the pipeline run's results page |
//! | `amlops.commit`, `amlops.repository`, `amlops.branch` | `Build.SourceVersion`, `Build.Repository.Name`, short branch |
//! | `amlops.pipeline` | `Build.DefinitionName` |
//! | `amlops.step` | `<stage>/<job>/<step>` of the task in the run |
//! | `amlops.sourceJob` | the training job (`jobName`, or the job of an `azureml://jobs/...` path) |
//! | `amlops.contentHash` | sha256 of the content (the upload's object hash for local paths, of the URI otherwise, of the rendered request for an asset YAML) |
//! | `amlops.idempotencyKey` | sha256 of build id, step, asset kind, name and content hash (32 hex digits) |
//! | `amlops.metric.<name>` | the training job's final MLflow metrics |
//!
//! Values the run does not have are left out. User `properties` may not use the `amlops.` prefix.

use std::collections::BTreeMap;

use amlops_agent::PipelineContext;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The prefix of every property the task writes; user properties may not use it.
pub const PREFIX: &str = "amlops.";
/// Requested-for name.
pub const PUBLISHED_BY: &str = "amlops.publishedBy";
/// Requested-for e-mail.
pub const PUBLISHED_BY_EMAIL: &str = "amlops.publishedByEmail";
/// Why the version was published.
pub const REASON: &str = "amlops.reason";
/// When (UTC, RFC 3339).
pub const PUBLISHED_AT: &str = "amlops.publishedAt";
/// Build id.
pub const BUILD_ID: &str = "amlops.buildId";
/// Build number.
pub const BUILD_NUMBER: &str = "amlops.buildNumber";
/// Run URL.
pub const RUN_URL: &str = "amlops.runUrl";
/// Commit.
pub const COMMIT: &str = "amlops.commit";
/// Repository.
pub const REPOSITORY: &str = "amlops.repository";
/// Branch (short form).
pub const BRANCH: &str = "amlops.branch";
/// Pipeline (definition) name.
pub const PIPELINE: &str = "amlops.pipeline";
/// The step of the run that registered the version.
pub const STEP: &str = "amlops.step";
/// The training job.
pub const SOURCE_JOB: &str = "amlops.sourceJob";
/// The content hash.
pub const CONTENT_HASH: &str = "amlops.contentHash";
/// The idempotency key.
pub const IDEMPOTENCY_KEY: &str = "amlops.idempotencyKey";
/// The prefix of copied metrics.
pub const METRIC_PREFIX: &str = "amlops.metric.";

/// The longest reason kept (property values should stay short).
const MAX_REASON: usize = 512;

/// Who published what, why and when, from where.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GovernanceRecord {
    /// Requested-for name.
    pub published_by: Option<String>,
    /// Requested-for e-mail.
    pub published_by_email: Option<String>,
    /// Why.
    pub reason: String,
    /// When (RFC 3339, UTC).
    pub published_at: String,
    /// Build id.
    pub build_id: Option<String>,
    /// Build number.
    pub build_number: Option<String>,
    /// Run URL.
    pub run_url: Option<String>,
    /// Commit.
    pub commit: Option<String>,
    /// Repository.
    pub repository: Option<String>,
    /// Branch.
    pub branch: Option<String>,
    /// Pipeline.
    pub pipeline: Option<String>,
    /// `<stage>/<job>/<step>`.
    pub step: String,
    /// The training job.
    pub source_job: Option<String>,
}

fn nonblank(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The default reason: the commit message's first line (which carries the pull request title for merges) and the
/// build reason, with the pull request id when there is one. `not given` when the run says nothing.
pub fn default_reason(p: &PipelineContext) -> String {
    let message = p
        .source_version_message
        .as_deref()
        .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(str::to_string);
    let mut why = nonblank(&p.build_reason);
    if let (Some(w), Some(pr)) = (&mut why, nonblank(&p.pull_request_id)) {
        w.push_str(&format!(" #{pr}"));
    }
    let text = match (message, why) {
        (Some(m), Some(w)) => format!("{m} ({w})"),
        (Some(m), None) => m,
        (None, Some(w)) => format!("build reason: {w}"),
        (None, None) => "not given".to_string(),
    };
    truncate(&text, MAX_REASON)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `<stage>/<job>/<step>` of the task in the run (stable across job attempts), `local` outside a pipeline.
pub fn step_identity(p: &PipelineContext) -> String {
    let parts: Vec<String> = [&p.stage_name, &p.job_name, &p.step_name]
        .into_iter()
        .filter_map(nonblank)
        .collect();
    if parts.is_empty() {
        "local".to_string()
    } else {
        parts.join("/")
    }
}

/// The UTC time in RFC 3339 with whole seconds (`2026-11-26T07:30:00Z`).
pub fn rfc3339(time: OffsetDateTime) -> String {
    let t = time
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(time);
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl GovernanceRecord {
    /// The record for the run `p` at `now`; `reason` is the input (else the default), `source_job` the
    /// training job.
    pub fn new(
        p: &PipelineContext,
        reason: Option<&str>,
        source_job: Option<&str>,
        now: OffsetDateTime,
    ) -> Self {
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(|r| truncate(r, MAX_REASON))
            .unwrap_or_else(|| default_reason(p));
        Self {
            published_by: nonblank(&p.requested_for),
            published_by_email: nonblank(&p.requested_for_email),
            reason,
            published_at: rfc3339(now),
            build_id: nonblank(&p.build_id),
            build_number: nonblank(&p.build_number),
            run_url: p.run_url(),
            commit: nonblank(&p.source_version),
            repository: nonblank(&p.repository),
            branch: p.branch_short().map(str::to_string).filter(|b| !b.is_empty()),
            pipeline: nonblank(&p.definition_name),
            step: step_identity(p),
            source_job: source_job.map(str::to_string),
        }
    }

    /// The record as version properties (values the run does not have are left out).
    pub fn properties(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |k: &str, v: Option<&String>| {
            if let Some(v) = v {
                out.insert(k.to_string(), v.clone());
            }
        };
        put(PUBLISHED_BY, self.published_by.as_ref());
        put(PUBLISHED_BY_EMAIL, self.published_by_email.as_ref());
        put(REASON, Some(&self.reason));
        put(PUBLISHED_AT, Some(&self.published_at));
        put(BUILD_ID, self.build_id.as_ref());
        put(BUILD_NUMBER, self.build_number.as_ref());
        put(RUN_URL, self.run_url.as_ref());
        put(COMMIT, self.commit.as_ref());
        put(REPOSITORY, self.repository.as_ref());
        put(BRANCH, self.branch.as_ref());
        put(PIPELINE, self.pipeline.as_ref());
        put(STEP, Some(&self.step));
        put(SOURCE_JOB, self.source_job.as_ref());
        out
    }

    /// The idempotency key of registering `name` (`kind`: `models`, `environments`...) with `content_hash` from
    /// this step of this run; `None` outside a pipeline run (no build id), where every run registers anew.
    pub fn idempotency_key(&self, kind: &str, name: &str, content_hash: &str) -> Option<String> {
        let build = self.build_id.as_deref()?;
        let mut h = Sha256::new();
        for part in [build, &self.step, kind, name, content_hash] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        Some(hex::encode(h.finalize())[..32].to_string())
    }
}

/// sha256 (hex) of text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Metric properties: `amlops.metric.<name>` = the value as text.
pub fn metric_properties(metrics: &[(String, f64)]) -> BTreeMap<String, String> {
    metrics
        .iter()
        .map(|(k, v)| (format!("{METRIC_PREFIX}{k}"), format_metric(*v)))
        .collect()
}

/// A metric value as text: integers without a fraction, others as Rust prints them (shortest round-trip form).
pub fn format_metric(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> PipelineContext {
        PipelineContext {
            build_id: Some("4711".into()),
            build_number: Some("20261126.3".into()),
            source_version: Some("9f2c".into()),
            source_version_message: Some("Merged PR 12: better churn features\n\nDetails".into()),
            source_branch: Some("refs/heads/main".into()),
            repository: Some("churn".into()),
            requested_for: Some("Ada Lovelace".into()),
            requested_for_email: Some("ada@contoso.com".into()),
            build_reason: Some("PullRequest".into()),
            pull_request_id: Some("12".into()),
            collection_uri: Some("https://dev.azure.com/contoso/".into()),
            team_project: Some("ml".into()),
            definition_name: Some("churn-release".into()),
            stage_name: Some("Register".into()),
            job_name: Some("register".into()),
            step_name: Some("AzureMLRegister1".into()),
            ..PipelineContext::default()
        }
    }

    #[test]
    fn record_has_every_property() {
        let now = OffsetDateTime::from_unix_timestamp(1_795_678_200).unwrap();
        let r = GovernanceRecord::new(&pipeline(), None, Some("train-1"), now);
        let p = r.properties();
        assert_eq!(p[PUBLISHED_BY], "Ada Lovelace");
        assert_eq!(p[PUBLISHED_BY_EMAIL], "ada@contoso.com");
        assert_eq!(p[REASON], "Merged PR 12: better churn features (PullRequest #12)");
        assert_eq!(p[PUBLISHED_AT], "2026-11-26T07:30:00Z");
        assert_eq!(p[BUILD_ID], "4711");
        assert_eq!(p[BUILD_NUMBER], "20261126.3");
        assert_eq!(
            p[RUN_URL],
            "https://dev.azure.com/contoso/ml/_build/results?buildId=4711"
        );
        assert_eq!(p[COMMIT], "9f2c");
        assert_eq!(p[REPOSITORY], "churn");
        assert_eq!(p[BRANCH], "main");
        assert_eq!(p[PIPELINE], "churn-release");
        assert_eq!(p[STEP], "Register/register/AzureMLRegister1");
        assert_eq!(p[SOURCE_JOB], "train-1");
        assert_eq!(p.len(), 13);
    }

    #[test]
    fn reason_input_wins_and_defaults_degrade() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let r = GovernanceRecord::new(&pipeline(), Some("  hotfix for drift "), None, now);
        assert_eq!(r.reason, "hotfix for drift");
        let mut p = pipeline();
        p.source_version_message = None;
        p.pull_request_id = None;
        p.build_reason = Some("Manual".into());
        assert_eq!(default_reason(&p), "build reason: Manual");
        assert_eq!(default_reason(&PipelineContext::default()), "not given");
        let long = "x".repeat(2000);
        assert_eq!(
            GovernanceRecord::new(&p, Some(&long), None, now)
                .reason
                .chars()
                .count(),
            MAX_REASON
        );
    }

    #[test]
    fn idempotency_key_depends_on_run_step_and_content() {
        let r = GovernanceRecord::new(&pipeline(), None, None, OffsetDateTime::UNIX_EPOCH);
        let k = r.idempotency_key("models", "churn", "abc").unwrap();
        assert_eq!(k.len(), 32);
        // The time of the attempt does not matter.
        let later = GovernanceRecord::new(&pipeline(), None, None, OffsetDateTime::now_utc());
        assert_eq!(later.idempotency_key("models", "churn", "abc").unwrap(), k);
        assert_ne!(r.idempotency_key("models", "churn", "abd").unwrap(), k);
        assert_ne!(r.idempotency_key("environments", "churn", "abc").unwrap(), k);
        let mut other_step = pipeline();
        other_step.step_name = Some("AzureMLRegister2".into());
        let o = GovernanceRecord::new(&other_step, None, None, OffsetDateTime::UNIX_EPOCH);
        assert_ne!(o.idempotency_key("models", "churn", "abc").unwrap(), k);
        let mut other_run = pipeline();
        other_run.build_id = Some("4712".into());
        let o = GovernanceRecord::new(&other_run, None, None, OffsetDateTime::UNIX_EPOCH);
        assert_ne!(o.idempotency_key("models", "churn", "abc").unwrap(), k);
        let local = GovernanceRecord::new(
            &PipelineContext::default(),
            None,
            None,
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(local.idempotency_key("models", "churn", "abc"), None);
        assert_eq!(local.step, "local");
    }

    #[test]
    fn metrics_become_properties() {
        let p = metric_properties(&[("auc".into(), 0.91), ("epochs".into(), 10.0)]);
        assert_eq!(p["amlops.metric.auc"], "0.91");
        assert_eq!(p["amlops.metric.epochs"], "10");
    }
}
