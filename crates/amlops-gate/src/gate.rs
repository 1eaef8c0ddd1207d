//! The gate's logic: resolve the candidate and the champion, evaluate the rules, compute drift, decide.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amlops_drift::{DataSource, DriftConfig, DriftReport, Thresholds};

use crate::backend::{
    BackendError, GateBackend, ModelRef, ModelRefError, ModelVersion, TagFilter, is_remote_data,
    metrics_from_properties,
};
use crate::rules::{EvalError, MetricSet, Metrics, Rule, RuleParseError, Side};

/// `mode`: what a failed gate does to the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateMode {
    /// The task fails (default).
    Fail,
    /// The task ends SucceededWithIssues.
    Warn,
}

impl GateMode {
    /// `fail` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            GateMode::Fail => "fail",
            GateMode::Warn => "warn",
        }
    }
}

/// Where the candidate's metrics come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateSource {
    /// `candidateJob`: the job's final MLflow metrics.
    Job(String),
    /// `candidateModel`: the model version's number-valued properties.
    Model(ModelRef),
}

/// How the champion is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChampionSource {
    /// `championEndpoint`: the model behind the highest-traffic deployment.
    Endpoint(String),
    /// `championModel` (+ `championTag`).
    Model {
        /// The model, with or without version.
        model: ModelRef,
        /// With a name only: the tag marking the champion version.
        tag: Option<TagFilter>,
    },
}

/// The drift part of the gate.
#[derive(Debug, Clone, Default)]
pub struct DriftInputs {
    /// `baselineData`: a local path or an `azureml:` URI.
    pub baseline: String,
    /// `targetData`.
    pub target: String,
    /// `driftColumns`.
    pub columns: Option<Vec<String>>,
    /// `categoricalColumns`.
    pub categorical: Option<Vec<String>>,
    /// `driftThresholds`.
    pub thresholds: Thresholds,
    /// `targetWindow`, `baselineInput` and the clock, for `endpoint:` and `model:` data.
    pub live: crate::live::LiveOptions,
}

/// Everything the gate evaluates, validated.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The rules (from `rules` and `rulesFile`).
    pub rules: Vec<Rule>,
    /// The candidate, required when a rule mentions it.
    pub candidate: Option<CandidateSource>,
    /// The champion, required when a rule mentions it.
    pub champion: Option<ChampionSource>,
    /// `requireChampion`.
    pub require_champion: bool,
    /// The drift check, when `baselineData` and `targetData` are given.
    pub drift: Option<DriftInputs>,
    /// `mode`.
    pub mode: GateMode,
}

impl GateConfig {
    /// Whether the gate calls Azure ML (and so needs the connection and workspace).
    pub fn needs_azure(&self) -> bool {
        !self.rules.is_empty()
            || self
                .drift
                .as_ref()
                .is_some_and(|d| is_remote_data(&d.baseline) || is_remote_data(&d.target))
    }
}

/// Errors of the gate.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// An input or the service connection is invalid.
    #[error(transparent)]
    Input(#[from] amlops_agent::AgentError),
    /// The inputs contradict each other or miss something.
    #[error("{0}")]
    Config(String),
    /// A rule does not parse.
    #[error(transparent)]
    Rule(#[from] RuleParseError),
    /// A rules file cannot be read.
    #[error("cannot read the rules file '{path}' (input 'rulesFile'): {source}")]
    RulesFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A model reference is invalid.
    #[error("input '{input}': {source}")]
    ModelRef {
        /// The input.
        input: &'static str,
        /// The cause.
        #[source]
        source: ModelRefError,
    },
    /// Something named by an input does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Azure ML refused or failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The drift computation failed (bad data, unknown columns...).
    #[error("data drift: {0}")]
    Drift(#[from] amlops_drift::DriftError),
    /// A drift input cannot be used.
    #[error("input '{input}': {problem}")]
    DriftInput {
        /// The input.
        input: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The gate failed in `fail` mode.
    #[error("{0}")]
    Failed(String),
    /// `endpoint:` data has nothing in the window (a warning in `warn` mode).
    #[error("{0}")]
    NoLiveData(String),
}

/// What a rule came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleVerdict {
    /// The comparison holds.
    Passed,
    /// The comparison does not hold.
    Failed,
    /// The rule mentions the champion and there is none: passes with a notice.
    NoChampion,
    /// The rule mentions the champion, there is none, and `requireChampion` is true.
    ChampionRequired,
    /// A metric the rule mentions does not exist.
    MissingMetric,
    /// The expression has no finite value (division by zero).
    NotFinite,
}

impl RuleVerdict {
    /// Whether this fails the gate.
    pub fn is_failure(self) -> bool {
        !matches!(self, RuleVerdict::Passed | RuleVerdict::NoChampion)
    }

    /// A short word for tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleVerdict::Passed => "passed",
            RuleVerdict::Failed => "failed",
            RuleVerdict::NoChampion => "passed (no champion)",
            RuleVerdict::ChampionRequired => "failed (no champion)",
            RuleVerdict::MissingMetric => "failed (missing metric)",
            RuleVerdict::NotFinite => "failed (no value)",
        }
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleResult {
    /// The rule as written.
    pub rule: String,
    /// Where (`input 'rules'` or the file) and which line.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// The verdict.
    pub verdict: RuleVerdict,
    /// The value of the left side, when computed.
    pub lhs: Option<f64>,
    /// The value of the right side, when computed.
    pub rhs: Option<f64>,
    /// Candidate metrics the rule mentions and their values (`None`: missing).
    pub candidate: Vec<(String, Option<f64>)>,
    /// Champion metrics the rule mentions and their values (`None`: missing or no champion).
    pub champion: Vec<(String, Option<f64>)>,
    /// An explanation for anything but a plain pass.
    pub message: Option<String>,
}

/// The model (or job) a side resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// A short description (`job 'x'`, `model churn:3`).
    pub description: String,
    /// The model, for models.
    pub model: Option<ModelVersion>,
    /// The job name, for jobs.
    pub job: Option<String>,
}

/// The drift part of the result.
#[derive(Debug, Clone)]
pub struct DriftOutcome {
    /// The baseline as given.
    pub baseline: String,
    /// The target as given.
    pub target: String,
    /// The report.
    pub report: DriftReport,
}

/// The gate's full result.
#[derive(Debug, Clone)]
pub struct GateReport {
    /// The mode.
    pub mode: GateMode,
    /// Rule results, in order.
    pub rules: Vec<RuleResult>,
    /// The candidate, when rules were evaluated.
    pub candidate: Option<Resolved>,
    /// The champion, when one was found.
    pub champion: Option<Resolved>,
    /// Notices (no champion, ties...).
    pub notices: Vec<String>,
    /// The drift result, when drift was checked.
    pub drift: Option<DriftOutcome>,
    /// Checks that could not run in `warn` mode (no live data in the window): the task ends with issues.
    pub warnings: Vec<String>,
}

impl GateReport {
    /// The failed rules.
    pub fn failed_rules(&self) -> Vec<&RuleResult> {
        self.rules.iter().filter(|r| r.verdict.is_failure()).collect()
    }

    /// The drifted columns.
    pub fn drifted_columns(&self) -> Vec<String> {
        self.drift
            .as_ref()
            .map(|d| d.report.drifted())
            .unwrap_or_default()
    }

    /// Drift metrics with a threshold that could not be computed (they fail the gate: closed).
    pub fn not_computed(&self) -> Vec<String> {
        self.drift
            .as_ref()
            .map(|d| d.report.not_computed())
            .unwrap_or_default()
    }

    /// Whether every rule passed, no column drifted and every drift metric with a threshold
    /// was computed.
    pub fn passed(&self) -> bool {
        self.failed_rules().is_empty() && self.drifted_columns().is_empty() && self.not_computed().is_empty()
    }

    /// One line saying why the gate failed, or that it passed.
    pub fn headline(&self) -> String {
        let failed = self.failed_rules().len();
        let drifted = self.drifted_columns();
        let mut checks = Vec::new();
        if !self.rules.is_empty() {
            checks.push(format!("{failed} of {} rules failed", self.rules.len()));
        }
        if let Some(d) = &self.drift {
            checks.push(format!(
                "{} of {} columns drifted",
                drifted.len(),
                d.report.columns.len()
            ));
        }
        let checks = checks.join(", ");
        if self.passed() {
            format!("The gate passed ({checks})")
        } else {
            let mut reasons = Vec::new();
            if failed > 0 {
                reasons.push(format!(
                    "failed rules: {}",
                    self.failed_rules()
                        .iter()
                        .map(|r| format!("`{}`", r.rule))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !drifted.is_empty() {
                reasons.push(format!("drifted columns: {}", drifted.join(", ")));
            }
            let not_computed = self.not_computed();
            if !not_computed.is_empty() {
                reasons.push(format!("metrics not computed: {}", not_computed.join("; ")));
            }
            format!("The gate failed ({checks}): {}", reasons.join("; "))
        }
    }
}

/// Evaluate the gate. `work_dir` receives downloaded data; `resolve_local` turns a local data path into an
/// absolute one (relative paths resolve against the pipeline's working directory).
pub async fn evaluate(
    config: &GateConfig,
    backend: Option<&dyn GateBackend>,
    work_dir: &Path,
    resolve_local: &(dyn Fn(&str) -> PathBuf + Sync),
) -> Result<GateReport, GateError> {
    let mut report = GateReport {
        mode: config.mode,
        rules: Vec::new(),
        candidate: None,
        champion: None,
        notices: Vec::new(),
        drift: None,
        warnings: Vec::new(),
    };
    if !config.rules.is_empty() {
        let backend = backend.ok_or_else(|| {
            GateError::Config("the rules need Azure ML, but no workspace connection was set up".into())
        })?;
        evaluate_rules_part(config, backend, &mut report).await?;
    }
    if let Some(drift) = &config.drift {
        match evaluate_drift(drift, backend, work_dir, resolve_local).await {
            Ok(outcome) => report.drift = Some(outcome),
            Err(GateError::NoLiveData(message)) if config.mode == GateMode::Warn => {
                report.warnings.push(message);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

async fn evaluate_rules_part(
    config: &GateConfig,
    backend: &dyn GateBackend,
    report: &mut GateReport,
) -> Result<(), GateError> {
    let mentions_candidate = config.rules.iter().any(|r| r.mentions(Side::Candidate));
    let mentions_champion = config.rules.iter().any(|r| r.mentions(Side::Champion));
    let mut metrics = Metrics::default();
    if mentions_candidate {
        let source = config.candidate.as_ref().ok_or_else(|| {
            GateError::Config(
                "the rules mention the candidate: set 'candidateJob' (a job name) or 'candidateModel' \
                 (azureml:<name>:<version>)"
                    .into(),
            )
        })?;
        let (resolved, set) = resolve_candidate(backend, source).await?;
        metrics.candidate = set;
        report.candidate = Some(resolved);
    }
    if mentions_champion {
        let source = config.champion.as_ref().ok_or_else(|| {
            GateError::Config(
                "the rules mention the champion: set 'championEndpoint' or 'championModel' (with 'championTag' \
                 when it is a model name without version)"
                    .into(),
            )
        })?;
        match resolve_champion(backend, source, &mut report.notices).await? {
            Some(model) => {
                let set = MetricSet::new(
                    format!("champion model {}", model.display()),
                    metrics_from_properties(&model.properties),
                );
                if let Some(candidate) = report.candidate.as_ref().and_then(|c| c.model.as_ref())
                    && candidate.name == model.name
                    && candidate.version == model.version
                {
                    report
                        .notices
                        .push(format!("the candidate {} is also the champion", model.display()));
                }
                report.champion = Some(Resolved {
                    description: format!("model {}", model.display()),
                    model: Some(model),
                    job: None,
                });
                metrics.champion = Some(set);
            }
            None => {
                let what = if config.require_champion {
                    "'requireChampion' is true, so the rules that mention the champion fail"
                } else {
                    "the rules that mention the champion pass (first release); set 'requireChampion' to fail instead"
                };
                report.notices.push(format!("there is no champion: {what}"));
            }
        }
    }
    report.rules = config
        .rules
        .iter()
        .map(|rule| evaluate_rule(rule, &metrics, config.require_champion))
        .collect();
    Ok(())
}

/// Resolve the candidate's metrics.
pub async fn resolve_candidate(
    backend: &dyn GateBackend,
    source: &CandidateSource,
) -> Result<(Resolved, MetricSet), GateError> {
    match source {
        CandidateSource::Job(job) => {
            let values = backend.job_metrics(job).await?;
            let description = format!("job '{job}'");
            Ok((
                Resolved {
                    description: description.clone(),
                    model: None,
                    job: Some(job.clone()),
                },
                MetricSet::new(description, values),
            ))
        }
        CandidateSource::Model(reference) => {
            let version = reference.version.as_deref().ok_or_else(|| {
                GateError::Config(format!(
                    "input 'candidateModel': '{}' has no version; write azureml:{}:<version>",
                    reference.name, reference.name
                ))
            })?;
            let model = backend
                .model_version(&reference.name, version)
                .await?
                .ok_or_else(|| {
                    GateError::NotFound(format!(
                        "the candidate model {reference} (input 'candidateModel') does not exist in the workspace"
                    ))
                })?;
            let description = format!("model {}", model.display());
            let set = MetricSet::new(description.clone(), metrics_from_properties(&model.properties));
            Ok((
                Resolved {
                    description,
                    model: Some(model),
                    job: None,
                },
                set,
            ))
        }
    }
}

/// Find the champion model; `None` when there is none yet. Decisions worth knowing go to `notices`.
pub async fn resolve_champion(
    backend: &dyn GateBackend,
    source: &ChampionSource,
    notices: &mut Vec<String>,
) -> Result<Option<ModelVersion>, GateError> {
    match source {
        ChampionSource::Endpoint(endpoint) => {
            let Some(traffic) = backend.endpoint_traffic(endpoint).await? else {
                notices.push(format!("the endpoint '{endpoint}' does not exist yet"));
                return Ok(None);
            };
            let Some(top) = traffic.traffic.values().copied().max().filter(|t| *t > 0) else {
                notices.push(format!(
                    "the endpoint '{endpoint}' has no deployment receiving traffic"
                ));
                return Ok(None);
            };
            // BTreeMap order: the alphabetically first deployment wins a tie.
            let leaders: Vec<&String> = traffic
                .traffic
                .iter()
                .filter(|(_, t)| **t == top)
                .map(|(d, _)| d)
                .collect();
            let deployment = leaders[0].clone();
            if leaders.len() > 1 {
                notices.push(format!(
                    "deployments {} of endpoint '{endpoint}' share the highest traffic ({top}%); using '{deployment}'",
                    leaders.iter().map(|d| format!("'{d}'")).collect::<Vec<_>>().join(", ")
                ));
            }
            let model_ref = backend
                .deployment_model(endpoint, &deployment)
                .await?
                .ok_or_else(|| {
                    GateError::NotFound(format!(
                        "the deployment '{deployment}' of endpoint '{endpoint}' receives {top}% of the traffic but \
                         names no model"
                    ))
                })?;
            let reference = ModelRef::parse(&model_ref).map_err(|source| GateError::ModelRef {
                input: "championEndpoint",
                source,
            })?;
            let version = reference.version.as_deref().ok_or_else(|| {
                GateError::Config(format!(
                    "the deployment '{deployment}' of endpoint '{endpoint}' names the model '{model_ref}' without \
                     a version"
                ))
            })?;
            let model = backend
                .model_version(&reference.name, version)
                .await?
                .ok_or_else(|| {
                    GateError::NotFound(format!(
                        "the champion model {reference} (deployment '{deployment}' of endpoint '{endpoint}') does not \
                         exist in the workspace"
                    ))
                })?;
            notices.push(format!(
                "champion: model {} behind deployment '{deployment}' ({top}% of the traffic of endpoint '{endpoint}')",
                model.display()
            ));
            Ok(Some(model))
        }
        ChampionSource::Model { model, tag } => match (&model.version, tag) {
            (Some(version), tag) => {
                if let Some(tag) = tag {
                    notices.push(format!(
                        "'championTag' ({tag}) is ignored because 'championModel' names version {version}"
                    ));
                }
                let found = backend.model_version(&model.name, version).await?;
                found.map(Some).ok_or_else(|| {
                    GateError::NotFound(format!(
                        "the champion model {model} (input 'championModel') does not exist in the workspace"
                    ))
                })
            }
            (None, Some(tag)) => {
                let mut versions: Vec<ModelVersion> = backend
                    .model_versions(&model.name)
                    .await?
                    .into_iter()
                    .filter(|v| tag.matches(&v.tags))
                    .collect();
                versions.sort_by(|a, b| compare_versions(&a.version, &b.version));
                match versions.pop() {
                    Some(v) => {
                        notices.push(format!(
                            "champion: model {}, the latest version tagged {tag}",
                            v.display()
                        ));
                        Ok(Some(v))
                    }
                    None => {
                        notices.push(format!("no version of model '{}' has the tag {tag}", model.name));
                        Ok(None)
                    }
                }
            }
            (None, None) => Err(GateError::Config(format!(
                "input 'championModel': '{}' has no version; write azureml:{}:<version>, or set 'championTag' \
                 (e.g. stage=production) to pick the latest version with that tag",
                model.name, model.name
            ))),
        },
    }
}

/// Numeric versions compare as numbers, others as text; numbers sort before text.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// Evaluate one rule.
pub fn evaluate_rule(rule: &Rule, metrics: &Metrics, require_champion: bool) -> RuleResult {
    use crate::rules::MetricValues;
    let mentioned = rule.metrics();
    let value_of = |side: Side, name: &str| metrics.value(side, name).ok();
    let candidate: Vec<(String, Option<f64>)> = mentioned
        .iter()
        .filter(|(s, _)| *s == Side::Candidate)
        .map(|(_, n)| (n.clone(), value_of(Side::Candidate, n)))
        .collect();
    let champion: Vec<(String, Option<f64>)> = mentioned
        .iter()
        .filter(|(s, _)| *s == Side::Champion)
        .map(|(_, n)| (n.clone(), value_of(Side::Champion, n)))
        .collect();
    let mut result = RuleResult {
        rule: rule.text.clone(),
        origin: rule.origin.to_string(),
        line: rule.line,
        verdict: RuleVerdict::Passed,
        lhs: None,
        rhs: None,
        candidate,
        champion,
        message: None,
    };
    // Candidate metrics first: a misspelt metric is reported even when there is no champion.
    for (side, name) in &mentioned {
        let set = match side {
            Side::Candidate => Some(&metrics.candidate),
            Side::Champion => metrics.champion.as_ref(),
        };
        if let Some(set) = set
            && !set.values.contains_key(name)
        {
            result.verdict = RuleVerdict::MissingMetric;
            result.message = Some(missing_message(*side, name, set));
            return result;
        }
    }
    let lhs = rule.lhs.eval(metrics);
    let rhs = rule.rhs.eval(metrics);
    result.lhs = lhs.as_ref().ok().copied();
    result.rhs = rhs.as_ref().ok().copied();
    match (lhs, rhs) {
        (Ok(a), Ok(b)) => {
            let holds = rule.op.holds(a, b);
            result.verdict = if holds {
                RuleVerdict::Passed
            } else {
                RuleVerdict::Failed
            };
            if !holds {
                result.message = Some(format!(
                    "{} {} {} is false",
                    format_number(a),
                    rule.op.as_str(),
                    format_number(b)
                ));
            }
        }
        (Err(EvalError::NoChampion), _) | (_, Err(EvalError::NoChampion)) => {
            if require_champion {
                result.verdict = RuleVerdict::ChampionRequired;
                result.message = Some("there is no champion and 'requireChampion' is true".into());
            } else {
                result.verdict = RuleVerdict::NoChampion;
                result.message = Some("there is no champion yet: the rule passes".into());
            }
        }
        (Err(EvalError::NotFinite), _) | (_, Err(EvalError::NotFinite)) => {
            result.verdict = RuleVerdict::NotFinite;
            result.message =
                Some("the expression has no finite value (a division by zero?), so the rule fails".into());
        }
        (Err(EvalError::MissingMetric { side, name }), _)
        | (_, Err(EvalError::MissingMetric { side, name })) => {
            // Unreachable after the check above, but keep a precise message.
            result.verdict = RuleVerdict::MissingMetric;
            result.message = Some(format!("the {side} metric '{name}' does not exist"));
        }
    }
    result
}

fn missing_message(side: Side, name: &str, set: &MetricSet) -> String {
    let mut message = format!(
        "the {side} metric '{name}' does not exist in {}; available metrics: {}",
        set.source,
        set.names()
    );
    if let Some(close) = set.values.keys().find(|k| k.eq_ignore_ascii_case(name)) {
        message.push_str(&format!(
            " (metric names are case-sensitive: did you mean '{close}'?)"
        ));
    }
    message
}

/// A number for people: up to 6 significant decimals, no trailing zeros.
pub fn format_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e-4 && v.abs() < 1e9 {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.4e}")
    }
}

async fn evaluate_drift(
    drift: &DriftInputs,
    backend: Option<&dyn GateBackend>,
    work_dir: &Path,
    resolve_local: &(dyn Fn(&str) -> PathBuf + Sync),
) -> Result<DriftOutcome, GateError> {
    let live = &drift.live;
    let baseline = local_data(
        &drift.baseline,
        "baselineData",
        backend,
        work_dir,
        resolve_local,
        live,
    )
    .await?;
    let target = local_data(
        &drift.target,
        "targetData",
        backend,
        work_dir,
        resolve_local,
        live,
    )
    .await?;
    let config = DriftConfig {
        columns: drift.columns.clone(),
        categorical_columns: drift.categorical.clone(),
        thresholds: drift.thresholds.clone(),
        threads: 0,
        temp_dir: Some(work_dir.to_path_buf()),
    };
    let report = tokio::task::spawn_blocking(move || -> Result<DriftReport, amlops_drift::DriftError> {
        let b = DataSource::from_path(&baseline)?;
        let t = DataSource::from_path(&target)?;
        amlops_drift::compute_drift(&b, &t, &config)
    })
    .await
    .map_err(|e| GateError::Config(format!("the drift computation stopped unexpectedly: {e}")))??;
    Ok(DriftOutcome {
        baseline: drift.baseline.clone(),
        target: drift.target.clone(),
        report,
    })
}

async fn local_data(
    given: &str,
    input: &'static str,
    backend: Option<&dyn GateBackend>,
    work_dir: &Path,
    resolve_local: &(dyn Fn(&str) -> PathBuf + Sync),
    live: &crate::live::LiveOptions,
) -> Result<PathBuf, GateError> {
    if let Some(found) = crate::live::resolve(given, input, backend, work_dir, live).await? {
        return Ok(found);
    }
    if !is_remote_data(given) {
        let path = resolve_local(given);
        if !path.exists() {
            return Err(GateError::DriftInput {
                input,
                problem: format!(
                    "'{}' does not exist; give a CSV, Parquet or JSON Lines file or folder, an azureml: data asset or a datastore URI",
                    path.display()
                ),
            });
        }
        return Ok(path);
    }
    if !given.to_ascii_lowercase().starts_with("azureml:") {
        return Err(GateError::DriftInput {
            input,
            problem: format!(
                "'{given}' is not supported: give a local path, an azureml:<name>:<version> data asset or an \
                 azureml://datastores/<datastore>/paths/<path> URI"
            ),
        });
    }
    let backend = backend.ok_or_else(|| GateError::DriftInput {
        input,
        problem: format!("'{given}' is in Azure ML, but no workspace connection was set up"),
    })?;
    let dest = work_dir.join(input);
    std::fs::create_dir_all(&dest).map_err(|e| GateError::DriftInput {
        input,
        problem: format!("cannot create the download folder {}: {e}", dest.display()),
    })?;
    Ok(backend.download_data(given, &dest).await?)
}

/// Split a comma- or newline-separated list; empty gives `None`.
pub fn split_list(text: Option<String>) -> Option<Vec<String>> {
    let items: Vec<String> = text?
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if items.is_empty() { None } else { Some(items) }
}

/// Metrics of a report worth putting in an event: every computed rule value and drift metric.
pub fn event_metrics(report: &GateReport) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in &report.rules {
        for (name, v) in &r.candidate {
            if let Some(v) = v {
                out.insert(format!("candidate.{name}"), *v);
            }
        }
        for (name, v) in &r.champion {
            if let Some(v) = v {
                out.insert(format!("champion.{name}"), *v);
            }
        }
    }
    if let Some(d) = &report.drift {
        for c in &d.report.columns {
            for m in &c.metrics {
                if m.value.is_finite() && m.threshold.is_some() {
                    out.insert(format!("drift.{}.{}", c.name, m.metric.as_str()), m.value);
                }
            }
        }
    }
    out
}
