//! Test-only knobs: settings that make the tasks faster to test (a fixed poll interval) and that must never change
//! how a task behaves in a real pipeline.
//!
//! A knob is honoured only when the environment also carries the test-harness marker [`TEST_HARNESS_VAR`]`=1`,
//! which the test harnesses set (`amlops-testkit`'s `AgentRun`, the end-to-end pipeline runner's settings). In a
//! real pipeline, a knob set without the marker is ignored and [`crate::run_task`] logs a warning naming it; a
//! marker set in a real pipeline is shown as a warning too, so it cannot go unnoticed.

use std::time::Duration;

use crate::env::TaskEnv;

/// The marker the test harnesses set (`1`); without it every knob is ignored.
pub const TEST_HARNESS_VAR: &str = "AMLOPS_TEST_HARNESS";

/// A fixed poll interval in milliseconds for the tasks' status and LRO polling (at least 1).
pub const POLL_INTERVAL_VAR: &str = "AMLOPS_POLL_INTERVAL_MS";

/// Every knob, for the "ignored" warning.
pub const KNOBS: &[&str] = &[POLL_INTERVAL_VAR];

/// The knobs of one run, read once from the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestKnobs {
    harness: bool,
    /// [`POLL_INTERVAL_VAR`], when honoured.
    pub poll_interval: Option<Duration>,
    /// Knobs that are set but ignored (no marker).
    pub ignored: Vec<String>,
}

impl TestKnobs {
    /// Read the knobs: honoured only with [`TEST_HARNESS_VAR`]`=1`.
    pub fn from_env(env: &TaskEnv) -> Self {
        let harness = env
            .get_nonempty(TEST_HARNESS_VAR)
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        if !harness {
            let ignored = KNOBS
                .iter()
                .filter(|k| env.get_nonempty(k).is_some())
                .map(|k| k.to_string())
                .collect();
            return Self {
                harness,
                poll_interval: None,
                ignored,
            };
        }
        let poll_interval = env
            .get_nonempty(POLL_INTERVAL_VAR)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|ms| Duration::from_millis(ms.clamp(1, 60_000)));
        Self {
            harness,
            poll_interval,
            ignored: Vec::new(),
        }
    }

    /// Whether the test-harness marker is set.
    pub fn harness(&self) -> bool {
        self.harness
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_need_the_marker() {
        let env = TaskEnv::from_map([(POLL_INTERVAL_VAR, "20")]);
        let k = TestKnobs::from_env(&env);
        assert_eq!(k.poll_interval, None);
        assert_eq!(k.ignored, vec![POLL_INTERVAL_VAR.to_string()]);
        assert!(!k.harness());

        let env = TaskEnv::from_map([(POLL_INTERVAL_VAR, "20"), (TEST_HARNESS_VAR, "1")]);
        let k = TestKnobs::from_env(&env);
        assert_eq!(k.poll_interval, Some(Duration::from_millis(20)));
        assert!(k.ignored.is_empty());
        assert!(k.harness());

        let env = TaskEnv::from_map([(POLL_INTERVAL_VAR, "0"), (TEST_HARNESS_VAR, "1")]);
        assert_eq!(
            TestKnobs::from_env(&env).poll_interval,
            Some(Duration::from_millis(1))
        );
        let env = TaskEnv::from_map([(POLL_INTERVAL_VAR, "20"), (TEST_HARNESS_VAR, "yes")]);
        assert_eq!(TestKnobs::from_env(&env).poll_interval, None);
    }
}
