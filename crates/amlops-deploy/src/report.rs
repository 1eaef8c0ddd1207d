//! What the task records and publishes: governance tags, the clean-up selection, outputs and the build summary.

use std::collections::BTreeMap;

use amlops_agent::PipelineContext;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::smoke::SmokeResult;
use crate::traffic::{Split, describe};

/// The governance record of a rollout, written as tags on the deployment (`amlops.*`) and shown in the summary.
pub fn governance_tags(
    pipeline: &PipelineContext,
    model_id: Option<&str>,
    strategy: &str,
    at: OffsetDateTime,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            // Azure caps tag values at 256 characters.
            tags.insert(format!("amlops.{k}"), v.chars().take(256).collect::<String>());
        }
    };
    let who = match (&pipeline.requested_for, &pipeline.requested_for_email) {
        (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
        (Some(n), None) => Some(n.clone()),
        (None, Some(e)) => Some(e.clone()),
        (None, None) => None,
    };
    put("deployedBy", who.as_deref());
    put("reason", pipeline.build_reason.as_deref());
    put("buildId", pipeline.build_id.as_deref());
    put("buildNumber", pipeline.build_number.as_deref());
    put("runUrl", pipeline.run_url().as_deref());
    put("commit", pipeline.source_version.as_deref());
    put("repository", pipeline.repository.as_deref());
    put("branch", pipeline.branch_short());
    put("pipeline", pipeline.definition_name.as_deref());
    put("modelId", model_id);
    put("strategy", Some(strategy));
    put("deployedAt", at.format(&Rfc3339).ok().as_deref());
    tags
}

/// A deployment as the clean-up sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    /// Its name.
    pub name: String,
    /// `systemData.createdAt`, when known.
    pub created_at: Option<OffsetDateTime>,
}

/// The deployments to delete after a successful rollout of `new`: the previous deployments, newest first, beyond
/// the first `keep`; never `new`, never one with live or mirrored traffic.
pub fn cleanup_selection(
    existing: &[Existing],
    new: &str,
    traffic: &Split,
    mirror: &Split,
    keep: u32,
) -> Vec<String> {
    let mut previous: Vec<&Existing> = existing
        .iter()
        .filter(|d| !d.name.eq_ignore_ascii_case(new))
        .collect();
    // Newest first; unknown creation times count as oldest; ties by name for a stable order.
    previous.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.name.cmp(&b.name)));
    previous
        .into_iter()
        .skip(keep as usize)
        .filter(|d| {
            let key = d.name.to_ascii_lowercase();
            !traffic.contains_key(&key) && !mirror.contains_key(&key)
        })
        .map(|d| d.name.clone())
        .collect()
}

/// Everything the build summary shows.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// The endpoint.
    pub endpoint: String,
    /// The new deployment.
    pub deployment: String,
    /// The strategy.
    pub strategy: String,
    /// `Succeeded`, `Rolled back`, `Failed`...
    pub result: String,
    /// Why it failed or rolled back.
    pub reason: Option<String>,
    /// Traffic before.
    pub before: Split,
    /// Mirror traffic before.
    pub before_mirror: Split,
    /// Traffic after.
    pub after: Split,
    /// Mirror traffic after.
    pub after_mirror: Split,
    /// Every smoke-test call.
    pub smoke: Vec<SmokeResult>,
    /// The governance tags.
    pub governance: BTreeMap<String, String>,
    /// Deployments deleted by the clean-up.
    pub deleted: Vec<String>,
    /// The scoring URI.
    pub scoring_uri: Option<String>,
    /// The analysed steps (`None`: no `analysis` input).
    pub analysis: Option<Vec<crate::analysis::StepAnalysis>>,
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The markdown build summary.
pub fn summary_markdown(s: &Summary) -> String {
    let mut md = format!(
        "### Azure ML deployment `{}` on endpoint `{}`\n\n**{}** ({} strategy)",
        s.deployment, s.endpoint, s.result, s.strategy
    );
    if let Some(r) = &s.reason {
        md.push_str(&format!(": {}", cell(r)));
    }
    md.push_str("\n\n| Traffic | Before | After |\n|---|---|---|\n");
    md.push_str(&format!(
        "| Live | {} | {} |\n",
        describe(&s.before),
        describe(&s.after)
    ));
    md.push_str(&format!(
        "| Mirror | {} | {} |\n",
        describe(&s.before_mirror),
        describe(&s.after_mirror)
    ));
    if let Some(u) = &s.scoring_uri {
        md.push_str(&format!("\nScoring URI: `{u}`\n"));
    }
    md.push_str("\n#### Smoke tests\n\n");
    if s.smoke.is_empty() {
        md.push_str("No smoke test was run.\n");
    } else {
        md.push_str("| Stage | HTTP status | Result | Detail |\n|---|---|---|---|\n");
        for r in &s.smoke {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                cell(&r.stage),
                r.status,
                if r.passed { "passed" } else { "FAILED" },
                cell(&r.detail)
            ));
        }
    }
    if let Some(steps) = &s.analysis {
        md.push_str(&crate::analysis::markdown(steps));
    }
    if !s.deleted.is_empty() {
        md.push_str(&format!(
            "\nOld deployments deleted: {}\n",
            s.deleted
                .iter()
                .map(|d| format!("`{d}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    md.push_str("\n#### Governance\n\n| Tag | Value |\n|---|---|\n");
    for (k, v) in &s.governance {
        md.push_str(&format!("| {} | {} |\n", cell(k), cell(v)));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn split(pairs: &[(&str, u32)]) -> Split {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn governance_tags_record_who_why_where_and_what() {
        let p = PipelineContext {
            build_id: Some("42".into()),
            build_number: Some("20261126.1".into()),
            source_version: Some("abc123".into()),
            requested_for: Some("Ada".into()),
            requested_for_email: Some("ada@example.com".into()),
            build_reason: Some("Manual".into()),
            collection_uri: Some("https://dev.azure.com/org/".into()),
            team_project: Some("proj".into()),
            source_branch: Some("refs/heads/main".into()),
            ..Default::default()
        };
        let t = governance_tags(
            &p,
            Some("/x/models/m/versions/1"),
            "canary",
            datetime!(2026-11-26 06:00 UTC),
        );
        assert_eq!(t["amlops.deployedBy"], "Ada <ada@example.com>");
        assert_eq!(t["amlops.reason"], "Manual");
        assert_eq!(
            t["amlops.runUrl"],
            "https://dev.azure.com/org/proj/_build/results?buildId=42"
        );
        assert_eq!(t["amlops.commit"], "abc123");
        assert_eq!(t["amlops.branch"], "main");
        assert_eq!(t["amlops.modelId"], "/x/models/m/versions/1");
        assert_eq!(t["amlops.deployedAt"], "2026-11-26T06:00:00Z");
        assert!(!t.contains_key("amlops.repository"));
    }

    #[test]
    fn cleanup_keeps_the_newest_and_never_touches_traffic() {
        let e = |n: &str, t: Option<OffsetDateTime>| Existing {
            name: n.into(),
            created_at: t,
        };
        let existing = vec![
            e("green", Some(datetime!(2026-11-26 0:00 UTC))),
            e("blue", Some(datetime!(2026-11-20 0:00 UTC))),
            e("old1", Some(datetime!(2026-10-01 0:00 UTC))),
            e("Old2", None),
            e("busy", Some(datetime!(2026-01-01 0:00 UTC))),
        ];
        let traffic = split(&[("green", 90), ("busy", 10)]);
        assert_eq!(
            cleanup_selection(&existing, "green", &traffic, &Split::new(), 1),
            vec!["old1".to_string(), "Old2".to_string()]
        );
        assert_eq!(
            cleanup_selection(&existing, "green", &traffic, &split(&[("old2", 5)]), 0),
            vec!["blue".to_string(), "old1".to_string()]
        );
        assert!(cleanup_selection(&existing, "green", &traffic, &Split::new(), 10).is_empty());
    }

    #[test]
    fn summary_shows_traffic_smoke_results_and_governance() {
        let s = Summary {
            endpoint: "ep".into(),
            deployment: "green".into(),
            strategy: "canary".into(),
            result: "Rolled back".into(),
            reason: Some("smoke test failed at 50%".into()),
            before: split(&[("blue", 100)]),
            after: split(&[("blue", 100)]),
            smoke: vec![SmokeResult {
                stage: "at 50%".into(),
                status: 500,
                passed: false,
                detail: "expected HTTP 200, got HTTP 500: a|b".into(),
            }],
            governance: [("amlops.commit".to_string(), "abc".to_string())].into(),
            ..Default::default()
        };
        let md = summary_markdown(&s);
        assert!(
            md.contains("**Rolled back** (canary strategy): smoke test failed at 50%"),
            "{md}"
        );
        assert!(md.contains("| Live | blue 100% | blue 100% |"), "{md}");
        assert!(
            md.contains("| at 50% | 500 | FAILED | expected HTTP 200, got HTTP 500: a\\|b |"),
            "{md}"
        );
        assert!(md.contains("| amlops.commit | abc |"), "{md}");
    }
}
