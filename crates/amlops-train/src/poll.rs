//! Adaptive poll intervals: fast at first, backing off to a cap, honouring a server's `Retry-After`.

use std::time::Duration;

/// How the wait polls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollConfig {
    /// The first interval. Default 2 s.
    pub initial: Duration,
    /// The largest interval. Default 30 s.
    pub cap: Duration,
    /// Growth per poll. Default 1.5.
    pub factor: f64,
    /// The longest `Retry-After` honoured. Default 5 minutes.
    pub max_retry_after: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(2),
            cap: Duration::from_secs(30),
            factor: 1.5,
            max_retry_after: Duration::from_secs(300),
        }
    }
}

impl PollConfig {
    /// A fixed interval (tests: `AMLOPS_POLL_INTERVAL_MS`).
    pub fn fixed(interval: Duration) -> Self {
        Self {
            initial: interval,
            cap: interval,
            factor: 1.0,
            ..Self::default()
        }
    }
}

/// The intervals of one wait.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    config: PollConfig,
    current: Duration,
}

impl PollSchedule {
    /// A schedule starting at `config.initial`.
    pub fn new(config: PollConfig) -> Self {
        Self {
            current: config.initial.min(config.cap),
            config,
        }
    }

    /// The wait before the next poll; the one after it grows by the factor up to the cap. A server's
    /// `Retry-After` lengthens this wait (up to `max_retry_after`), never shortens it.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Duration {
        let planned = self.current;
        self.current = self
            .current
            .mul_f64(self.config.factor.max(1.0))
            .min(self.config.cap);
        match retry_after {
            Some(server) => planned.max(server.min(self.config.max_retry_after)),
            None => planned,
        }
    }

    /// Back to the fast start (the status changed: things are happening).
    pub fn reset(&mut self) {
        self.current = self.config.initial.min(self.config.cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn backs_off_to_the_cap() {
        let mut s = PollSchedule::new(PollConfig::default());
        let waits: Vec<Duration> = (0..12).map(|_| s.next(None)).collect();
        assert_eq!(waits[0], secs(2.0));
        assert_eq!(waits[1], secs(3.0));
        assert_eq!(waits[2], secs(4.5));
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().unwrap(), secs(30.0));
    }

    #[test]
    fn retry_after_lengthens_but_never_shortens() {
        let mut s = PollSchedule::new(PollConfig::default());
        assert_eq!(s.next(Some(secs(10.0))), secs(10.0));
        assert_eq!(s.next(Some(secs(1.0))), secs(3.0)); // the plan continues: 2 -> 3 -> 4.5
        assert_eq!(s.next(Some(secs(3600.0))), secs(300.0));
    }

    #[test]
    fn reset_and_fixed() {
        let mut s = PollSchedule::new(PollConfig::default());
        s.next(None);
        s.next(None);
        s.reset();
        assert_eq!(s.next(None), secs(2.0));
        let mut f = PollSchedule::new(PollConfig::fixed(Duration::from_millis(20)));
        assert!((0..5).all(|_| f.next(None) == Duration::from_millis(20)));
    }
}
