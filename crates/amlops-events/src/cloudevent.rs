//! CloudEvents 1.0 in structured JSON, with the governance record as `data`.

use std::collections::BTreeMap;

use amlops_agent::PipelineContext;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::event::{AssetRef, Event, EventOutcome, EventType, WorkspaceInfo};

/// The `source` used outside a pipeline run (no run URL).
pub const LOCAL_SOURCE: &str = "urn:amlops:local";

/// The CloudEvents spec version written.
pub const SPEC_VERSION: &str = "1.0";

/// A CloudEvent in structured JSON mode. Field names are the CloudEvents attribute names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudEvent {
    /// Always `1.0`.
    pub specversion: &'static str,
    /// A UUID, unique per event.
    pub id: String,
    /// The pipeline run URL, or [`LOCAL_SOURCE`].
    pub source: String,
    /// `com.amlops.<event>`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The Azure ML asset id the event is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// RFC 3339, UTC.
    pub time: String,
    /// Always `application/json`.
    pub datacontenttype: &'static str,
    /// The governance record.
    pub data: GovernanceRecord,
}

/// Who did it: the person the run was requested for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Who {
    /// `Build.RequestedFor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `Build.RequestedForEmail`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// Why the run happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Why {
    /// `Build.Reason` (Manual, IndividualCI, PullRequest, Schedule...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The pull request, when the run is for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request_id: Option<String>,
    /// The commit message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
}

/// The pipeline run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// `Build.BuildId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Build.BuildNumber`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The run's results page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// The pipeline's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// The project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// The stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The step (task instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The job attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

/// The sources the run built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInfo {
    /// `Build.SourceVersion`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// `Build.Repository.Name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// `Build.Repository.Uri`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_uri: Option<String>,
    /// `Build.SourceBranch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
}

/// The `data` of every event: who, why, when, where, what and how it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GovernanceRecord {
    /// The short event type (`model.registered`).
    pub event: EventType,
    /// One line for people.
    pub title: String,
    /// The outcome.
    pub outcome: EventOutcome,
    /// A longer explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Who.
    pub who: Who,
    /// Why.
    pub why: Why,
    /// When (RFC 3339 UTC, the same as the CloudEvent `time`).
    pub when: String,
    /// The run.
    pub build: BuildInfo,
    /// The sources.
    pub source: SourceInfo,
    /// The workspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceInfo>,
    /// The assets and versions involved.
    pub assets: Vec<AssetRef>,
    /// Metrics, where they apply.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// Anything else the task recorded.
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Format a time as RFC 3339 in UTC.
pub fn rfc3339_utc(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    // Formatting a UTC time with a four-digit year cannot fail; fall back to the Unix time if it ever does.
    utc.format(&Rfc3339)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

impl CloudEvent {
    /// Build the CloudEvent for `event` in the run `pipeline`, on `workspace`, with `id`, at `now` unless the
    /// event carries its own time.
    pub fn build(
        event: &Event,
        pipeline: &PipelineContext,
        workspace: Option<&WorkspaceInfo>,
        id: String,
        now: OffsetDateTime,
    ) -> Self {
        let when = rfc3339_utc(event.time.unwrap_or(now));
        let run_url = pipeline.run_url();
        let data = GovernanceRecord {
            event: event.event_type,
            title: event.effective_title(),
            outcome: event.outcome.clone(),
            message: event.message.clone(),
            who: Who {
                name: pipeline.requested_for.clone(),
                email: pipeline.requested_for_email.clone(),
            },
            why: Why {
                reason: pipeline.build_reason.clone(),
                pull_request_id: pipeline.pull_request_id.clone(),
                commit_message: pipeline.source_version_message.clone(),
            },
            when: when.clone(),
            build: BuildInfo {
                id: pipeline.build_id.clone(),
                number: pipeline.build_number.clone(),
                run_url: run_url.clone(),
                pipeline: pipeline.definition_name.clone(),
                project: pipeline.team_project.clone(),
                stage: pipeline.stage_name.clone(),
                job: pipeline.job_name.clone(),
                step: pipeline.step_name.clone(),
                attempt: pipeline.job_attempt,
            },
            source: SourceInfo {
                commit: pipeline.source_version.clone(),
                repository: pipeline.repository.clone(),
                repository_uri: pipeline.repository_uri.clone(),
                branch: pipeline.source_branch.clone(),
            },
            workspace: workspace.cloned(),
            assets: event.assets.clone(),
            metrics: event.metrics.clone(),
            details: event.details.clone(),
        };
        CloudEvent {
            specversion: SPEC_VERSION,
            id,
            source: run_url.unwrap_or_else(|| LOCAL_SOURCE.to_string()),
            event_type: event.event_type.cloud_event_type(),
            subject: event.effective_subject(),
            time: when,
            datacontenttype: "application/json",
            data,
        }
    }

    /// The event as compact JSON (one line: the audit trail's format and the webhook body).
    pub fn to_json(&self) -> String {
        // A struct of strings, numbers and maps with string keys always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amlops_agent::TaskEnv;
    use time::macros::datetime;

    fn pipeline() -> PipelineContext {
        PipelineContext::from_env(&TaskEnv::from_map([
            ("SYSTEM_COLLECTIONURI", "https://dev.example/org/"),
            ("SYSTEM_TEAMPROJECT", "ml ops"),
            ("BUILD_BUILDID", "42"),
            ("BUILD_BUILDNUMBER", "20261126.3"),
            ("BUILD_SOURCEVERSION", "abc123"),
            ("BUILD_SOURCEBRANCH", "refs/heads/main"),
            ("BUILD_REPOSITORY_NAME", "credit"),
            ("BUILD_REQUESTEDFOR", "Ada Lovelace"),
            ("BUILD_REQUESTEDFOREMAIL", "ada@example.org"),
            ("BUILD_REASON", "IndividualCI"),
        ]))
    }

    #[test]
    fn structured_json_has_the_cloudevents_attributes_and_the_record() {
        let event = Event::model_registered(AssetRef::model("credit", "3").with_id("azureml:/m/credit/3"))
            .metric("auc", 0.91)
            .at(datetime!(2026-11-26 08:30:00 +01:00));
        let ws = WorkspaceInfo::named("mlw-prod");
        let ce = CloudEvent::build(
            &event,
            &pipeline(),
            Some(&ws),
            "id-1".into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let v = ce.to_value();
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["id"], "id-1");
        assert_eq!(
            v["source"],
            "https://dev.example/org/ml%20ops/_build/results?buildId=42"
        );
        assert_eq!(v["type"], "com.amlops.model.registered");
        assert_eq!(v["subject"], "azureml:/m/credit/3");
        assert_eq!(v["time"], "2026-11-26T07:30:00Z");
        assert_eq!(v["datacontenttype"], "application/json");
        let d = &v["data"];
        assert_eq!(d["event"], "model.registered");
        assert_eq!(d["outcome"], "succeeded");
        assert_eq!(d["who"]["name"], "Ada Lovelace");
        assert_eq!(d["who"]["email"], "ada@example.org");
        assert_eq!(d["why"]["reason"], "IndividualCI");
        assert_eq!(d["when"], "2026-11-26T07:30:00Z");
        assert_eq!(d["build"]["id"], "42");
        assert_eq!(d["build"]["number"], "20261126.3");
        assert_eq!(d["build"]["runUrl"], v["source"]);
        assert_eq!(d["source"]["commit"], "abc123");
        assert_eq!(d["source"]["repository"], "credit");
        assert_eq!(d["source"]["branch"], "refs/heads/main");
        assert_eq!(d["workspace"]["name"], "mlw-prod");
        assert_eq!(d["assets"][0]["kind"], "model");
        assert_eq!(d["assets"][0]["version"], "3");
        assert_eq!(d["metrics"]["auc"], 0.91);
        assert!(!ce.to_json().contains('\n'));
    }

    #[test]
    fn outside_a_pipeline_the_source_is_local() {
        let ce = CloudEvent::build(
            &Event::new(EventType::GatePassed),
            &PipelineContext::default(),
            None,
            "x".into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        assert_eq!(ce.source, LOCAL_SOURCE);
        assert_eq!(ce.time, "1970-01-01T00:00:00Z");
        assert_eq!(ce.subject, None);
        assert!(ce.to_value().get("subject").is_none());
    }
}
