//! Job statuses and the re-attach decision.

use std::fmt;

/// An Azure ML job status (API guide §2), with `Unknown` for values Azure may add.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// NotStarted.
    NotStarted,
    /// Starting.
    Starting,
    /// Provisioning.
    Provisioning,
    /// Preparing.
    Preparing,
    /// Queued.
    Queued,
    /// Running.
    Running,
    /// Finalizing (still working).
    Finalizing,
    /// CancelRequested (still working).
    CancelRequested,
    /// Completed.
    Completed,
    /// Failed.
    Failed,
    /// Canceled.
    Canceled,
    /// NotResponding.
    NotResponding,
    /// Paused.
    Paused,
    /// Any other value, as Azure spelt it (`Unknown` included).
    Unknown(String),
}

impl JobStatus {
    /// Parse a status (case-insensitive).
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "notstarted" => Self::NotStarted,
            "starting" => Self::Starting,
            "provisioning" => Self::Provisioning,
            "preparing" => Self::Preparing,
            "queued" => Self::Queued,
            "running" => Self::Running,
            "finalizing" => Self::Finalizing,
            "cancelrequested" => Self::CancelRequested,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            "notresponding" => Self::NotResponding,
            "paused" => Self::Paused,
            _ => Self::Unknown(value.trim().to_string()),
        }
    }

    /// The name Azure uses.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotStarted => "NotStarted",
            Self::Starting => "Starting",
            Self::Provisioning => "Provisioning",
            Self::Preparing => "Preparing",
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Finalizing => "Finalizing",
            Self::CancelRequested => "CancelRequested",
            Self::Completed => "Completed",
            Self::Failed => "Failed",
            Self::Canceled => "Canceled",
            Self::NotResponding => "NotResponding",
            Self::Paused => "Paused",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the job has stopped (the SDK's terminal set: Completed, Failed, Canceled, NotResponding, Paused).
    /// Unknown values count as still working.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::NotResponding | Self::Paused
        )
    }

    /// Whether the job finished successfully.
    pub fn is_success(&self) -> bool {
        *self == Self::Completed
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with a job name, given what the workspace holds under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attach {
    /// No job has this name: submit it.
    Submit,
    /// The job is still working: wait for it (a re-run of a stage that timed out or was cancelled).
    Wait(JobStatus),
    /// The job finished other than by failing: report it without submitting anything.
    Report(JobStatus),
    /// The job failed: submit again under the next name of the chain.
    Resubmit,
}

/// The re-attach decision for an existing job's status (`None`: no such job).
pub fn decide(existing: Option<&JobStatus>) -> Attach {
    match existing {
        None => Attach::Submit,
        Some(JobStatus::Failed) => Attach::Resubmit,
        Some(s) if s.is_terminal() => Attach::Report(s.clone()),
        Some(s) => Attach::Wait(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_status_and_keeps_unknown_ones() {
        for s in [
            "NotStarted",
            "Starting",
            "Provisioning",
            "Preparing",
            "Queued",
            "Running",
            "Finalizing",
            "CancelRequested",
            "Completed",
            "Failed",
            "Canceled",
            "NotResponding",
            "Paused",
        ] {
            let parsed = JobStatus::parse(s);
            assert!(!matches!(parsed, JobStatus::Unknown(_)), "{s}");
            assert_eq!(parsed.as_str(), s);
        }
        assert_eq!(JobStatus::parse("running"), JobStatus::Running);
        assert_eq!(
            JobStatus::parse("Hibernating"),
            JobStatus::Unknown("Hibernating".into())
        );
        assert!(!JobStatus::parse("Hibernating").is_terminal());
    }

    #[test]
    fn terminal_set_matches_the_sdk() {
        let terminal: Vec<_> = ["Completed", "Failed", "Canceled", "NotResponding", "Paused"]
            .map(JobStatus::parse)
            .into();
        assert!(terminal.iter().all(JobStatus::is_terminal));
        for s in ["Finalizing", "CancelRequested", "Queued", "Running", "NotStarted"] {
            assert!(!JobStatus::parse(s).is_terminal(), "{s}");
        }
    }

    #[test]
    fn decision() {
        assert_eq!(decide(None), Attach::Submit);
        assert_eq!(
            decide(Some(&JobStatus::Running)),
            Attach::Wait(JobStatus::Running)
        );
        assert_eq!(
            decide(Some(&JobStatus::Finalizing)),
            Attach::Wait(JobStatus::Finalizing)
        );
        assert_eq!(
            decide(Some(&JobStatus::Completed)),
            Attach::Report(JobStatus::Completed)
        );
        assert_eq!(
            decide(Some(&JobStatus::Canceled)),
            Attach::Report(JobStatus::Canceled)
        );
        assert_eq!(
            decide(Some(&JobStatus::NotResponding)),
            Attach::Report(JobStatus::NotResponding)
        );
        assert_eq!(decide(Some(&JobStatus::Failed)), Attach::Resubmit);
    }
}
