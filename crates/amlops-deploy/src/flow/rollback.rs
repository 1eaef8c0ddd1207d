//! The end of a rollout: the rollback after a failure (traffic restored, the restore note cleared, the new
//! deployment deleted), the clean-up of old deployments after a success, and the build summary both write.

use amlops_agent::Canceled;
use amlops_azureml::AzureMlError;
use amlops_azureml::models::OnlineDeployment;
use amlops_events::Event;
use time::OffsetDateTime;

use super::{Deploy, Failure, Progress};
use crate::DeployError;
use crate::analysis::StepAnalysis;
use crate::report::{Existing, Summary, cleanup_selection, summary_markdown};
use crate::traffic::{Split, describe, restore, to_json};

fn deployment_created_at(d: &OnlineDeployment) -> Option<OffsetDateTime> {
    d.extra
        .get("systemData")
        .and_then(|s| s["createdAt"].as_str())
        .and_then(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok())
}

impl Deploy<'_> {
    pub(super) async fn roll_back(
        &self,
        f: Failure,
        existed: bool,
        before: &Split,
        before_mirror: &Split,
        progress: Progress,
        summary: &mut Summary,
    ) -> DeployError {
        let ep = self.endpoint_name();
        let dep = self.dep_name();
        self.out
            .section(&format!("Rollout of '{dep}' stopped: {}", f.reason));
        let mut notes = Vec::new();
        // One clean-up window for the restore and the deletion ([`crate::restore::RollbackWindow`]).
        let window = crate::restore::RollbackWindow::default();
        let started = tokio::time::Instant::now();
        let (traffic, mirror) = restore(before, before_mirror);
        let mut restored = !progress.touched;
        if progress.touched {
            if self.settings.rollback_on_failure {
                // The step in flight may have been accepted: the restore command also zeroes the new deployment.
                let mut live = progress.traffic.clone();
                live.entry(dep.to_ascii_lowercase()).or_insert(0);
                let mut live_mirror = progress.mirror.clone();
                live_mirror.entry(dep.to_ascii_lowercase()).or_insert(0);
                match self
                    .restore_within_window(started, &traffic, &mirror, &live, &live_mirror)
                    .await
                {
                    Ok(outcome) => {
                        restored = true;
                        let how = match outcome {
                            crate::restore::RestoreOutcome::Done => "",
                            crate::restore::RestoreOutcome::Accepted => {
                                " (accepted; Azure ML is completing it)"
                            }
                        };
                        notes.push(format!("traffic restored to {}{how}", describe(&traffic)));
                        self.out.line(&format!(
                            "Traffic restored{how}: {}; mirror: {}",
                            describe(&traffic),
                            describe(&mirror)
                        ));
                    }
                    Err(note) => notes.push(note),
                }
            } else {
                notes.push(format!(
                    "traffic left at {} (input 'rollbackOnFailure' is false)",
                    describe(&progress.traffic)
                ));
            }
        }
        if !progress.touched && progress.noted {
            // Stopped between noting the split and changing traffic: nothing to restore, only the note to clear.
            if window
                .run_from(started, self.cancel, self.clear_restore_note(self.cleanup, ep))
                .await
                .is_none()
            {
                self.out.warning(&format!(
                    "The tag {} could not be removed from '{ep}' in time; its split is the current one",
                    crate::restore::RESTORE_TAG
                ));
            }
        }
        let (after, after_mirror) = if restored {
            (traffic.clone(), mirror.clone())
        } else {
            (progress.traffic.clone(), progress.mirror.clone())
        };
        let created = !existed
            && matches!(
                window
                    .run_from(started, self.cancel, self.cleanup.get_deployment(ep, dep))
                    .await,
                Some(Ok(Some(_)))
            );
        if self.settings.delete_failed_deployment && created && restored {
            let deleted = window
                .run_from(started, self.cancel, self.cleanup.delete_deployment(ep, dep))
                .await
                .unwrap_or_else(|| {
                    Err(AzureMlError::new(
                        amlops_azureml::ErrorKind::Timeout,
                        "onlineDeployments.delete",
                        format!(
                            "not finished within the clean-up window; delete it with: az ml online-deployment \
                             delete --name {dep} --endpoint-name {ep} -g {} -w {} --yes",
                            self.settings.resource_group, self.settings.workspace
                        ),
                    ))
                });
            match deleted {
                Ok(()) => {
                    notes.push(format!("deployment '{dep}' deleted"));
                    self.out.line(&format!("Deployment '{dep}' deleted"));
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    notes.push(format!("deleting '{dep}' failed: {e}"));
                    self.out
                        .warning(&format!("Deleting the deployment '{dep}' failed: {e}"));
                }
            }
        }
        self.out.set_output("traffic", &to_json(&after));
        summary.after = after;
        summary.after_mirror = after_mirror;
        summary.result = if f.canceled {
            "Canceled"
        } else if restored && progress.touched {
            "Rolled back"
        } else {
            "Failed"
        }
        .into();
        summary.reason = Some(f.reason.clone());
        self.write_summary(summary);
        if let Some(events) = self.events {
            events
                .emit(
                    Event::deployment_rolled_back(self.deployment_ref(), f.reason.clone())
                        .detail(
                            "analysis",
                            progress
                                .analysis
                                .iter()
                                .find(|a| !a.passed)
                                .map_or(serde_json::Value::Null, StepAnalysis::event_detail),
                        )
                        .detail("endpoint", ep),
                )
                .await;
        }
        DeployError::RolledBack {
            deployment: dep.to_string(),
            reason: f.reason,
            actions: if notes.is_empty() {
                "nothing to undo".into()
            } else {
                notes.join("; ")
            },
            source: if f.canceled {
                Some(Box::new(Canceled))
            } else {
                f.source.map(|e| e as Box<dyn std::error::Error + Send + Sync>)
            },
        }
    }

    pub(super) async fn clean_up(&self, ep: &str, dep: &str, traffic: &Split, mirror: &Split) -> Vec<String> {
        let list = match self.api.list_deployments(ep).await {
            Ok(l) => l,
            Err(e) => {
                self.out.warning(&format!(
                    "Cannot list the deployments of '{ep}' for the clean-up: {e}"
                ));
                return Vec::new();
            }
        };
        let existing: Vec<Existing> = list
            .iter()
            .filter_map(|d| {
                d.name.clone().map(|name| Existing {
                    name,
                    created_at: deployment_created_at(d),
                })
            })
            .collect();
        let mut deleted = Vec::new();
        for name in cleanup_selection(&existing, dep, traffic, mirror, self.settings.keep_previous) {
            self.out.line(&format!(
                "Deleting the old deployment '{name}' (no traffic; input 'keepPreviousDeployments' is {})",
                self.settings.keep_previous
            ));
            match self.api.delete_deployment(ep, &name).await {
                Ok(()) => deleted.push(name),
                Err(e) => self
                    .out
                    .warning(&format!("Deleting the old deployment '{name}' failed: {e}")),
            }
        }
        deleted
    }

    pub(super) fn write_summary(&self, summary: &Summary) {
        let path = self.pipeline.temp_dir().join(format!(
            "amlops-deploy-{}-{}.md",
            self.endpoint_name(),
            self.dep_name()
        ));
        match std::fs::write(&path, summary_markdown(summary)) {
            Ok(()) => self.out.upload_summary(&path),
            Err(e) => self
                .out
                .warning(&format!("Cannot write the build summary {}: {e}", path.display())),
        }
    }
}
