//! Canary analysis: during each traffic step's wait, Azure Monitor's metrics of the endpoint are read every
//! [`AnalysisSettings::interval`] (and once at the end of the wait) and the `analysis` rules are evaluated over
//! `canary.<metric>` (the new deployment) and `baseline.<metric>` (the deployments that held the live traffic
//! before the rollout). A failing rule stops the rollout at once; too few canary requests, or a rule without a
//! value, make the step inconclusive, which fails it unless `analysisInconclusive` is `pass`.
//!
//! Metrics ([`METRICS`]), over the window (the UTC minutes from the step's start to the poll, the current minute
//! included; Azure Monitor publishes a minute a minute or more late, so the last minutes are often still empty and
//! the summary says which minutes had data):
//! - `error_rate`: 5xx requests / all requests (`RequestsPerMinute`, split by `deployment` and `statusCodeClass`);
//! - `latency_p50`, `latency_p90`, `latency_p95`, `latency_p99` (ms): `RequestLatency_P50/P90/P95/P99` per
//!   deployment and minute, averaged over the minutes weighted by each minute's requests;
//! - `requests_per_minute`: the side's requests / the minutes of the window that have data;
//! - `cpu`, `memory` (%): the deployments' `CpuUtilizationPercentage` and `CpuMemoryUtilizationPercentage`, mean
//!   over minutes and instances. `DeploymentCapacity` (instances) is shown in the summary.

use std::collections::BTreeMap;
use std::time::Duration;

use amlops_agent::{AgentError, CancellationToken, Inputs, Output, is_canceled};
use amlops_rules::{Dialect, EvalError, MetricSet, Metrics, Rule, RuleOrigin, parse_rules_in};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::DeployError;
use crate::api::DeployApi;
use crate::traffic::{Split, describe};

mod sample;

use sample::hhmm;
pub use sample::{Sample, SideMetrics, Window, compute, fetch};

/// The metrics rules may name, on either side.
pub const METRICS: [&str; 8] = [
    "error_rate",
    "latency_p50",
    "latency_p90",
    "latency_p95",
    "latency_p99",
    "requests_per_minute",
    "cpu",
    "memory",
];

/// The rules language of `analysis`: `canary.<metric>` and `baseline.<metric>` over [`METRICS`].
pub const DIALECT: Dialect<'static> = Dialect {
    candidate: "canary",
    champion: "baseline",
    example: "latency_p95",
    metrics: Some(&METRICS),
};

/// What an inconclusive step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inconclusive {
    /// The step fails and the rollout rolls back (default).
    Fail,
    /// The step passes with a warning.
    Pass,
}

/// The `analysis*` inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSettings {
    /// `analysis`, parsed.
    pub rules: Vec<Rule>,
    /// `analysisMinRequests`.
    pub min_requests: u64,
    /// `analysisInconclusive`.
    pub inconclusive: Inconclusive,
    /// How often the metrics are read during a step's wait (60 s; tests shorten it).
    pub interval: Duration,
}

impl AnalysisSettings {
    /// Read the inputs; `None` without `analysis`. A rule that does not parse or names an unknown metric fails
    /// here, before any call, pointing at the character.
    pub fn read(i: &Inputs<'_>) -> Result<Option<Self>, DeployError> {
        let Some(text) = i.string("analysis") else {
            return Ok(None);
        };
        let rules = parse(&text)?;
        if rules.is_empty() {
            return Ok(None);
        }
        let min_requests = i.int_or("analysisMinRequests", 50, 0, 1_000_000_000)? as u64;
        let inconclusive = match i
            .pick_list("analysisInconclusive", &["fail", "pass"], "fail")?
            .as_str()
        {
            "pass" => Inconclusive::Pass,
            _ => Inconclusive::Fail,
        };
        Ok(Some(Self {
            rules,
            min_requests,
            inconclusive,
            interval: Duration::from_secs(60),
        }))
    }
}

/// Parse the `analysis` rules (one per line, `#` comments).
pub fn parse(text: &str) -> Result<Vec<Rule>, DeployError> {
    parse_rules_in(text, &RuleOrigin::Input("analysis".into()), &DIALECT).map_err(|e| {
        DeployError::Input(AgentError::InvalidInput {
            name: "analysis".into(),
            value: e.text.clone(),
            expected: format!(
                "line {} is not a valid rule: at character {}: {}\n{}",
                e.line,
                e.column,
                e.message,
                e.pointer()
            ),
        })
    })
}

/// One rule's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleVerdict {
    /// The rule holds.
    Passed,
    /// The rule does not hold.
    Failed,
    /// A metric it names has no value.
    NoData(String),
}

/// A rule, its verdict and the values it used.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    /// The rule as written.
    pub rule: String,
    /// Left and right values, when both exist.
    pub sides: Option<(f64, f64)>,
    /// `canary.latency_p95` -> value, for every metric the rule names that has one.
    pub values: BTreeMap<String, f64>,
    /// The verdict.
    pub verdict: RuleVerdict,
}

/// A step's (or a poll's) verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every rule holds with enough requests.
    Passed,
    /// A rule failed (the first one).
    Failed(RuleOutcome),
    /// Too few requests or a rule without a value.
    Inconclusive(String),
}

/// Evaluate the rules over a sample.
pub fn evaluate(settings: &AnalysisSettings, sample: &Sample) -> (Vec<RuleOutcome>, Verdict) {
    let metrics = Metrics {
        candidate: MetricSet::new("canary", sample.canary.values.clone()),
        champion: sample
            .baseline
            .as_ref()
            .map(|b| MetricSet::new("baseline", b.values.clone())),
    };
    let outcomes: Vec<RuleOutcome> = settings
        .rules
        .iter()
        .map(|rule| {
            let mut values = BTreeMap::new();
            for (side, name) in rule.metrics() {
                if let Ok(v) = amlops_rules::MetricValues::value(&metrics, side, &name) {
                    values.insert(format!("{}.{name}", DIALECT.word(side)), v);
                }
            }
            let sides = rule
                .lhs
                .eval(&metrics)
                .and_then(|l| rule.rhs.eval(&metrics).map(|r| (l, r)));
            let (sides, verdict) = match sides {
                Ok((l, r)) if rule.op.holds(l, r) => (Some((l, r)), RuleVerdict::Passed),
                Ok((l, r)) => (Some((l, r)), RuleVerdict::Failed),
                Err(EvalError::MissingMetric { side, name }) => (
                    None,
                    RuleVerdict::NoData(format!(
                        "{}.{name} has no value in the window",
                        DIALECT.word(side)
                    )),
                ),
                Err(EvalError::NoChampion) => (
                    None,
                    RuleVerdict::NoData("there is no baseline (no other deployment held traffic)".into()),
                ),
                Err(EvalError::NotFinite) => (
                    None,
                    RuleVerdict::NoData("the expression has no finite value (division by zero)".into()),
                ),
            };
            RuleOutcome {
                rule: rule.text.clone(),
                sides,
                values,
                verdict,
            }
        })
        .collect();
    let verdict = if (sample.canary.requests as u64) < settings.min_requests {
        Verdict::Inconclusive(format!(
            "{} request(s) reached the canary in the window, fewer than {} (input 'analysisMinRequests')",
            sample.canary.requests, settings.min_requests
        ))
    } else if let Some(f) = outcomes.iter().find(|o| o.verdict == RuleVerdict::Failed) {
        Verdict::Failed(f.clone())
    } else if let Some((o, why)) = outcomes.iter().find_map(|o| match &o.verdict {
        RuleVerdict::NoData(why) => Some((o, why)),
        _ => None,
    }) {
        Verdict::Inconclusive(format!("the rule `{}` has no value: {why}", o.rule))
    } else {
        Verdict::Passed
    };
    (outcomes, verdict)
}

fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

impl RuleOutcome {
    /// `canary.latency_p95 = 812, baseline.latency_p95 = 101 (812 <= 141.2 is false)`.
    pub fn describe_values(&self) -> String {
        let mut parts: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k} = {}", num(*v)))
            .collect();
        if let Some((l, r)) = self.sides {
            parts.push(format!("left side {} vs right side {}", num(l), num(r)));
        }
        parts.join(", ")
    }

    /// The values as JSON, for the `deployment.rolledBack` event.
    pub fn to_json(&self) -> Value {
        json!({
            "rule": self.rule,
            "values": self.values,
            "left": self.sides.map(|s| s.0),
            "right": self.sides.map(|s| s.1),
        })
    }
}

/// One analysed step, for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StepAnalysis {
    /// `mirror 10%`, `10%`...
    pub stage: String,
    /// The live split during the step.
    pub traffic: Split,
    /// The mirror split during the step.
    pub mirror: Split,
    /// The window of the last poll.
    pub window: Window,
    /// Polls made.
    pub polls: u32,
    /// The last poll's sample.
    pub sample: Sample,
    /// The last poll's rule outcomes.
    pub rules: Vec<RuleOutcome>,
    /// The step's verdict.
    pub verdict: Verdict,
    /// Whether the step passed (an inconclusive step passes with `analysisInconclusive: pass`).
    pub passed: bool,
}

fn value_cell(s: Option<&SideMetrics>, name: &str) -> String {
    s.and_then(|s| s.values.get(name))
        .map_or_else(|| "–".to_string(), |v| num(*v))
}

/// The summary section: per step, the split, the window and its minutes with data, each metric for the canary
/// and the baseline, each rule's verdict.
pub fn markdown(steps: &[StepAnalysis]) -> String {
    let mut md = String::from("\n#### Canary analysis\n\n");
    if steps.is_empty() {
        md.push_str("No step was analysed.\n");
        return md;
    }
    for s in steps {
        let minutes = if s.sample.minutes_with_data.is_empty() {
            "none".to_string()
        } else {
            s.sample
                .minutes_with_data
                .iter()
                .map(|t| hhmm(*t))
                .collect::<Vec<_>>()
                .join(", ")
        };
        md.push_str(&format!(
            "**Step {}**: traffic {}; mirror {}; window {} ({} poll(s); minutes with data: {minutes}): **{}**\n\n",
            s.stage,
            describe(&s.traffic),
            describe(&s.mirror),
            s.window.describe(),
            s.polls,
            match (&s.verdict, s.passed) {
                (Verdict::Passed, _) => "passed".to_string(),
                (Verdict::Failed(o), _) => format!("FAILED on `{}`", o.rule.replace('|', "\\|")),
                (Verdict::Inconclusive(why), true) => format!("inconclusive, passed ({why})"),
                (Verdict::Inconclusive(why), false) => format!("INCONCLUSIVE, failed ({why})"),
            }
        ));
        let base = s.sample.baseline.as_ref();
        md.push_str(&format!(
            "| Metric | Canary ({}) | Baseline ({}) |\n|---|---|---|\n",
            s.sample.canary.deployments.join(", "),
            base.map_or("none".to_string(), |b| b.deployments.join(", "))
        ));
        md.push_str(&format!(
            "| requests | {} | {} |\n",
            num(s.sample.canary.requests),
            base.map_or("–".to_string(), |b| num(b.requests))
        ));
        for m in METRICS {
            md.push_str(&format!(
                "| {m} | {} | {} |\n",
                value_cell(Some(&s.sample.canary), m),
                value_cell(base, m)
            ));
        }
        md.push_str(&format!(
            "| instances | {} | {} |\n\n",
            s.sample.canary.instances.map_or("–".to_string(), num),
            base.and_then(|b| b.instances).map_or("–".to_string(), num)
        ));
        md.push_str("| Rule | Verdict | Values |\n|---|---|---|\n");
        for r in &s.rules {
            let verdict = match &r.verdict {
                RuleVerdict::Passed => "passed".to_string(),
                RuleVerdict::Failed => "FAILED".to_string(),
                RuleVerdict::NoData(why) => format!("no data: {why}"),
            };
            md.push_str(&format!(
                "| `{}` | {} | {} |\n",
                r.rule.replace('|', "\\|"),
                verdict,
                r.describe_values()
            ));
        }
        for n in &s.sample.notes {
            md.push_str(&format!("\nNote: {}\n", n.replace(['\n', '\r'], " ")));
        }
        md.push('\n');
    }
    md
}

/// One step's wait, analysed.
pub struct StepRun<'a> {
    /// Where the metrics come from.
    pub api: &'a dyn DeployApi,
    /// The writer.
    pub out: &'a Output,
    /// The task's cancellation.
    pub cancel: &'a CancellationToken,
    /// The rules and their options.
    pub settings: &'a AnalysisSettings,
    /// The endpoint.
    pub endpoint: &'a str,
    /// The new deployment.
    pub canary: &'a str,
    /// The deployments that held the live traffic before the rollout.
    pub baseline: &'a [String],
    /// `stepWaitSeconds`.
    pub wait: Duration,
}

impl StepRun<'_> {
    /// Wait the step out, reading the metrics every [`AnalysisSettings::interval`] and at the end; return at once
    /// when a rule fails. `Err(())` when the task is cancelled.
    pub async fn run(&self, stage: &str, traffic: &Split, mirror: &Split) -> Result<StepAnalysis, ()> {
        let wall0 = OffsetDateTime::now_utc();
        let start = tokio::time::Instant::now();
        let deadline = start + self.wait;
        let interval = self.settings.interval.max(Duration::from_millis(1));
        self.out.line(&format!(
            "Analysing '{}' against {} for {} s (input 'stepWaitSeconds'), metrics read every {} s",
            self.canary,
            if self.baseline.is_empty() {
                "no baseline".to_string()
            } else {
                format!("the baseline {}", self.baseline.join(", "))
            },
            self.wait.as_secs(),
            interval.as_secs()
        ));
        let mut polls = 0;
        loop {
            let next = (tokio::time::Instant::now() + interval).min(deadline);
            tokio::select! {
                () = self.cancel.cancelled() => return Err(()),
                () = tokio::time::sleep_until(next) => {}
            }
            let now = tokio::time::Instant::now();
            let at_end = now >= deadline;
            let wall = wall0 + (now - start);
            let window = Window::new(wall0, wall);
            polls += 1;
            let (sample, rules, verdict) =
                match fetch(self.api, self.endpoint, self.canary, self.baseline, &window).await {
                    Ok(sample) => {
                        let (rules, verdict) = evaluate(self.settings, &sample);
                        (sample, rules, verdict)
                    }
                    Err(e) if is_canceled(&e) || self.cancel.is_cancelled() => return Err(()),
                    Err(e) => {
                        self.out
                            .warning(&format!("Cannot read the metrics of '{}': {e}", self.endpoint));
                        let why = format!("the metrics cannot be read: {e}");
                        (Sample::default(), Vec::new(), Verdict::Inconclusive(why))
                    }
                };
            self.out.line(&format!(
                "Analysis {}: {} request(s) to '{}'{}; {}",
                window.describe(),
                num(sample.canary.requests),
                self.canary,
                sample
                    .baseline
                    .as_ref()
                    .map(|b| format!(", {} to the baseline", num(b.requests)))
                    .unwrap_or_default(),
                match &verdict {
                    Verdict::Passed => "every rule holds".to_string(),
                    Verdict::Failed(o) => format!("FAILED `{}` ({})", o.rule, o.describe_values()),
                    Verdict::Inconclusive(why) => format!("inconclusive so far: {why}"),
                }
            ));
            let done = matches!(verdict, Verdict::Failed(_)) || at_end;
            if done {
                let passed = match &verdict {
                    Verdict::Passed => true,
                    Verdict::Failed(_) => false,
                    Verdict::Inconclusive(why) => {
                        let pass = self.settings.inconclusive == Inconclusive::Pass;
                        if pass {
                            self.out.warning(&format!(
                                "The analysis of step {stage} is inconclusive ({why}); it passes because \
                                 'analysisInconclusive' is 'pass'"
                            ));
                        }
                        pass
                    }
                };
                return Ok(StepAnalysis {
                    stage: stage.to_string(),
                    traffic: traffic.clone(),
                    mirror: mirror.clone(),
                    window,
                    polls,
                    sample,
                    rules,
                    verdict,
                    passed,
                });
            }
        }
    }
}

impl StepAnalysis {
    /// Why the step failed, for the error and the `deployment.rolledBack` event.
    pub fn failure_reason(&self) -> String {
        match &self.verdict {
            Verdict::Failed(o) => format!(
                "the canary analysis failed at {} on the rule `{}` ({}; window {})",
                self.stage,
                o.rule,
                o.describe_values(),
                self.window.describe()
            ),
            Verdict::Inconclusive(why) => format!(
                "the canary analysis at {} is inconclusive ({why}; window {}) and 'analysisInconclusive' is \
                 'fail'",
                self.stage,
                self.window.describe()
            ),
            Verdict::Passed => String::new(),
        }
    }

    /// The `failedAnalysis` output: the failing rule, or the inconclusive reason.
    pub fn failed_analysis(&self) -> String {
        match &self.verdict {
            Verdict::Failed(o) => o.rule.clone(),
            Verdict::Inconclusive(why) => format!("inconclusive: {why}"),
            Verdict::Passed => String::new(),
        }
    }

    /// Details for the `deployment.rolledBack` event.
    pub fn event_detail(&self) -> Value {
        json!({
            "stage": self.stage,
            "window": self.window.describe(),
            "failedRule": match &self.verdict {
                Verdict::Failed(o) => o.to_json(),
                _ => Value::Null,
            },
            "inconclusive": match &self.verdict {
                Verdict::Inconclusive(why) => Value::from(why.clone()),
                _ => Value::Null,
            },
            "canaryRequests": self.sample.canary.requests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_short() {
        assert_eq!(num(812.0), "812");
        assert_eq!(num(0.0125), "0.0125");
        assert_eq!(num(141.234), "141.2");
    }
}
