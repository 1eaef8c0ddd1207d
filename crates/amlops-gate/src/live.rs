//! Live inference data.
//!
//! - `targetData: endpoint:<endpoint>[/<deployment>[/<collection>]]` reads what the data collector wrote for a
//!   deployment (collection `model_inputs` by default; `model_outputs` for prediction drift) over `targetWindow`:
//!   only the hour folders `modelDataCollector/<endpoint>/<deployment>/<collection>/<yyyy>/<MM>/<dd>/<HH>/` of the
//!   window are listed and downloaded from the workspace's default blob datastore. `endpoint:<endpoint>` alone
//!   reads every deployment that takes live traffic.
//! - `baselineData: model:<name>:<version>` is the training data of the job that produced the model: the job's
//!   input named by `baselineInput`, or its only `uri_file`/`uri_folder`/`mltable` input.
//!
//! The window is whole UTC hours ending with the current one: `24h` at 10:30 reads the folders 11 (yesterday)
//! to 10 (today), the current hour included as far as it is written.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::backend::{GateBackend, JobInput};
use crate::gate::GateError;

/// The root folder of the data collector in the default datastore.
pub const COLLECTOR_ROOT: &str = "modelDataCollector";

/// The collection read when `endpoint:` names none.
pub const DEFAULT_COLLECTION: &str = "model_inputs";

/// Longest `targetWindow`: 90 days.
pub const MAX_WINDOW_HOURS: u32 = 90 * 24;

/// Options of the live-data sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveOptions {
    /// `targetWindow` in hours (default 24).
    pub window_hours: u32,
    /// `baselineInput`: the training job's input holding the baseline.
    pub baseline_input: Option<String>,
    /// The end of the window, Unix seconds; `None` is now (tests fix it).
    pub now: Option<i64>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        Self {
            window_hours: 24,
            baseline_input: None,
            now: None,
        }
    }
}

/// Parse `targetWindow`: `<n>h` or `<n>d`, 1 hour to 90 days.
pub fn parse_window(text: &str) -> Result<u32, String> {
    let t = text.trim().to_ascii_lowercase();
    let expected = || {
        format!(
            "'{}' is not a window: write <n>h or <n>d (e.g. 24h, 7d), at most {}d",
            text.trim(),
            MAX_WINDOW_HOURS / 24
        )
    };
    let (number, unit) = t.split_at(t.len().saturating_sub(1));
    let n: u32 = number.trim().parse().map_err(|_| expected())?;
    let hours = match unit {
        "h" => n,
        "d" => n.checked_mul(24).ok_or_else(expected)?,
        _ => return Err(expected()),
    };
    if hours == 0 || hours > MAX_WINDOW_HOURS {
        return Err(expected());
    }
    Ok(hours)
}

/// What `endpoint:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointTarget {
    /// The endpoint.
    pub endpoint: String,
    /// The deployment; `None`: every deployment with live traffic.
    pub deployment: Option<String>,
    /// The collection (`model_inputs` by default).
    pub collection: String,
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parse `endpoint:<endpoint>[/<deployment>[/<collection>]]`; `None` when `text` does not start with
/// `endpoint:`.
pub fn parse_endpoint_target(text: &str) -> Option<Result<EndpointTarget, String>> {
    let t = text.trim();
    let rest = t
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("endpoint:"))
        .map(|_| &t[9..])?;
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let bad = |why: &str| {
        Err(format!(
            "'{t}' {why}: write endpoint:<endpoint>, endpoint:<endpoint>/<deployment> or \
             endpoint:<endpoint>/<deployment>/<collection> (e.g. endpoint:churn/blue/model_outputs)"
        ))
    };
    if parts.len() > 3 {
        return Some(bad("has too many parts"));
    }
    if let Some(p) = parts.iter().find(|p| !valid_segment(p)) {
        return Some(bad(&format!(
            "has the invalid name '{p}' (letters, digits, '-' and '_' only)"
        )));
    }
    Some(Ok(EndpointTarget {
        endpoint: parts[0].to_string(),
        deployment: parts.get(1).map(|s| s.to_string()),
        collection: parts.get(2).map_or(DEFAULT_COLLECTION, |s| s).to_string(),
    }))
}

/// Parse `model:<name>:<version>`; `None` when `text` does not start with `model:`.
pub fn parse_model_baseline(text: &str) -> Option<Result<(String, String), String>> {
    let t = text.trim();
    let rest = t
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("model:"))
        .map(|_| &t[6..])?;
    Some(match rest.split_once(':') {
        Some((name, version)) if valid_segment(name) && valid_segment(version) => {
            Ok((name.to_string(), version.to_string()))
        }
        _ => Err(format!(
            "'{t}' is not a model reference: write model:<name>:<version> (e.g. model:churn:3)"
        )),
    })
}

/// One UTC hour: its collector folder is `<yyyy>/<MM>/<dd>/<HH>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hour {
    /// Year.
    pub year: i64,
    /// Month, 1-12.
    pub month: u32,
    /// Day, 1-31.
    pub day: u32,
    /// Hour, 0-23.
    pub hour: u32,
}

impl Hour {
    /// The hour holding the Unix time `secs`.
    pub fn of(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let hour = (secs.rem_euclid(86_400) / 3600) as u32;
        let (year, month, day) = civil_from_days(days);
        Self {
            year,
            month,
            day,
            hour,
        }
    }

    /// `<yyyy>/<MM>/<dd>/<HH>`.
    pub fn folder(&self) -> String {
        format!(
            "{:04}/{:02}/{:02}/{:02}",
            self.year, self.month, self.day, self.hour
        )
    }

    /// `yyyy-MM-dd HH:00`.
    pub fn display(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:00",
            self.year, self.month, self.day, self.hour
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The hours of a window of `hours` hours ending with the hour of `now` (Unix seconds), oldest first.
pub fn window(now: i64, hours: u32) -> Vec<Hour> {
    let last = now.div_euclid(3600);
    (0..i64::from(hours))
        .rev()
        .map(|back| Hour::of((last - back) * 3600))
        .collect()
}

fn now_secs(options: &LiveOptions) -> i64 {
    options.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    })
}

fn is_collector_file(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".jsonl")
}

/// Download the collected data `target` names over the window into `dest`; returns the folder to read.
/// Checks the datastore (blob) and the endpoint and deployments before listing anything; lists only the
/// window's hour folders.
pub async fn fetch_endpoint_data(
    target: &EndpointTarget,
    options: &LiveOptions,
    backend: &dyn GateBackend,
    input: &'static str,
    dest: &Path,
) -> Result<PathBuf, GateError> {
    let problem = |problem: String| GateError::DriftInput { input, problem };
    let ep = &target.endpoint;
    let datastore = backend.default_blob_datastore().await?;
    let traffic = backend.endpoint_traffic(ep).await?.ok_or_else(|| {
        problem(format!(
            "the online endpoint '{ep}' does not exist in the workspace"
        ))
    })?;
    let deployments = match &target.deployment {
        Some(dep) => {
            if !backend.deployment_exists(ep, dep).await? {
                return Err(problem(format!(
                    "the endpoint '{ep}' has no deployment '{dep}'{}",
                    known(&traffic.traffic.keys().cloned().collect::<Vec<_>>())
                )));
            }
            vec![dep.clone()]
        }
        None => {
            let live: Vec<String> = traffic
                .traffic
                .iter()
                .filter(|(_, t)| **t > 0)
                .map(|(d, _)| d.clone())
                .collect();
            if live.is_empty() {
                return Err(problem(format!(
                    "no deployment of the endpoint '{ep}' takes live traffic; name one: \
                     endpoint:{ep}/<deployment>"
                )));
            }
            live
        }
    };
    let hours = window(now_secs(options), options.window_hours);
    let (first, last) = (hours[0], hours[hours.len() - 1]);
    let mut wanted = Vec::new();
    let mut looked_at = Vec::new();
    for dep in &deployments {
        let base = format!("{COLLECTOR_ROOT}/{ep}/{dep}/{}/", target.collection);
        let prefixes: Vec<String> = hours.iter().map(|h| format!("{base}{}/", h.folder())).collect();
        let listed = backend.list_blobs(&datastore, &prefixes).await?;
        wanted.extend(listed.into_iter().filter(|n| is_collector_file(n)));
        looked_at.push(format!("{base}{{{} .. {}}}/", first.folder(), last.folder()));
    }
    if wanted.is_empty() {
        return Err(GateError::NoLiveData(format!(
            "input '{input}': no collected data in the {} window from {} to {} UTC: nothing under {} in the \
             datastore '{datastore}'. Is data collection on (AzureMLDeploy@1 input 'dataCollection', or \
             data_collector in the deployment YAML), did the endpoint receive requests, and does the scoring \
             script log the '{}' collection?",
            window_text(options.window_hours),
            first.display(),
            last.display(),
            looked_at.join(", "),
            target.collection
        )));
    }
    let strip = format!("{COLLECTOR_ROOT}/{ep}/");
    let mut files = Vec::with_capacity(wanted.len());
    for name in wanted {
        let relative: Vec<&str> = name
            .strip_prefix(&strip)
            .unwrap_or(&name)
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect();
        let local = relative.iter().fold(dest.to_path_buf(), |p, s| p.join(s));
        files.push((name, local));
    }
    backend.download_blobs(&datastore, &files).await?;
    tracing::debug!(files = files.len(), "downloaded collected data");
    Ok(dest.to_path_buf())
}

fn known(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" (deployments with a traffic entry: {})", names.join(", "))
    }
}

fn window_text(hours: u32) -> String {
    if hours.is_multiple_of(24) {
        format!("{}d", hours / 24)
    } else {
        format!("{hours}h")
    }
}

/// Resolve `endpoint:` and `model:` data inputs into local data (downloaded under `work_dir/<input>`);
/// `None` for anything else.
pub async fn resolve(
    given: &str,
    input: &'static str,
    backend: Option<&dyn GateBackend>,
    work_dir: &Path,
    options: &LiveOptions,
) -> Result<Option<PathBuf>, GateError> {
    let problem = |problem: String| GateError::DriftInput { input, problem };
    let endpoint = parse_endpoint_target(given);
    let model = parse_model_baseline(given);
    if endpoint.is_none() && model.is_none() {
        return Ok(None);
    }
    let backend = backend.ok_or_else(|| {
        problem(format!(
            "'{given}' is in Azure ML, but no workspace connection was set up"
        ))
    })?;
    let dest = work_dir.join(input);
    std::fs::create_dir_all(&dest).map_err(|e| {
        problem(format!(
            "cannot create the download folder {}: {e}",
            dest.display()
        ))
    })?;
    if let Some(target) = endpoint {
        let target = target.map_err(problem)?;
        return fetch_endpoint_data(&target, options, backend, input, &dest)
            .await
            .map(Some);
    }
    if let Some(model) = model {
        let (name, version) = model.map_err(problem)?;
        let uri = model_baseline_uri(&name, &version, input, options, backend).await?;
        return Ok(Some(backend.download_data(&uri, &dest).await?));
    }
    Ok(None)
}

/// The data URI of the baseline for `model:<name>:<version>`: the training job's input.
pub async fn model_baseline_uri(
    name: &str,
    version: &str,
    input: &'static str,
    options: &LiveOptions,
    backend: &dyn GateBackend,
) -> Result<String, GateError> {
    let problem = |problem: String| GateError::DriftInput { input, problem };
    let job = backend.model_job_name(name, version).await?.ok_or_else(|| {
        problem(format!(
            "the model {name}:{version} does not exist or names no job that produced it (jobName); give the \
             training data itself (a file, a folder, a data asset or a datastore URI)"
        ))
    })?;
    let inputs = backend.job_inputs(&job).await?;
    let data_inputs: Vec<&JobInput> = inputs.iter().filter(|i| i.is_data()).collect();
    let list = |v: &[&JobInput]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|i| format!("{} ({})", i.name, i.kind))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let chosen = match &options.baseline_input {
        Some(wanted) => inputs.iter().find(|i| &i.name == wanted).ok_or_else(|| {
            problem(format!(
                "the job '{job}' that produced the model {name}:{version} has no input '{wanted}' (input \
                 'baselineInput'); its data inputs: {}",
                list(&data_inputs)
            ))
        })?,
        None => match data_inputs.as_slice() {
            [one] => *one,
            [] => {
                return Err(problem(format!(
                    "the job '{job}' that produced the model {name}:{version} has no uri_file, uri_folder or \
                     mltable input to use as the baseline"
                )));
            }
            many => {
                return Err(problem(format!(
                    "the job '{job}' that produced the model {name}:{version} has several data inputs: {}; \
                     name the training data with 'baselineInput'",
                    list(many)
                )));
            }
        },
    };
    data_uri(&chosen.uri).ok_or_else(|| {
        problem(format!(
            "the input '{}' of the job '{job}' is '{}', which is not in the workspace (a data asset or a \
             datastore path); give the training data itself",
            chosen.name, chosen.uri
        ))
    })
}

/// A job input's URI as the gate downloads it: datastore URIs as they are, data asset ids
/// (`azureml:/subscriptions/.../data/<name>/versions/<v>`, `azureml:<name>:<v>`) as `azureml:<name>:<v>`.
pub fn data_uri(uri: &str) -> Option<String> {
    let u = uri.trim();
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("azureml://") && lower.contains("/datastores/") {
        return Some(u.to_string());
    }
    let path = u.strip_prefix("azureml:").unwrap_or(u);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(i) = segments.iter().rposition(|s| s.eq_ignore_ascii_case("data")) {
        return match (segments.get(i + 1), segments.get(i + 2), segments.get(i + 3)) {
            (Some(name), Some(v), Some(version)) if v.eq_ignore_ascii_case("versions") => {
                Some(format!("azureml:{name}:{version}"))
            }
            _ => None,
        };
    }
    if lower.starts_with("azureml:") && !path.contains('/') && path.contains(':') {
        return Some(u.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(parse_window("24h"), Ok(24));
        assert_eq!(parse_window(" 7D "), Ok(168));
        assert_eq!(parse_window("1h"), Ok(1));
        assert_eq!(parse_window("90d"), Ok(2160));
        for bad in ["", "0h", "24", "h", "1.5h", "91d", "-1h", "3w"] {
            let e = parse_window(bad).unwrap_err();
            assert!(e.contains("<n>h or <n>d"), "{bad}: {e}");
        }
    }

    #[test]
    fn endpoint_targets() {
        let t = |s: &str| parse_endpoint_target(s).unwrap();
        assert_eq!(
            t("endpoint:churn/blue").unwrap(),
            EndpointTarget {
                endpoint: "churn".into(),
                deployment: Some("blue".into()),
                collection: "model_inputs".into()
            }
        );
        assert_eq!(
            t("Endpoint:churn/blue/model_outputs").unwrap().collection,
            "model_outputs"
        );
        let all = t("endpoint:churn").unwrap();
        assert_eq!((all.endpoint.as_str(), all.deployment), ("churn", None));
        assert!(
            t("endpoint:churn/blue/x/y")
                .unwrap_err()
                .contains("too many parts")
        );
        assert!(t("endpoint:").unwrap_err().contains("invalid name ''"));
        assert!(t("endpoint:ch urn").unwrap_err().contains("invalid name"));
        assert!(parse_endpoint_target("data/x.csv").is_none());
        assert_eq!(
            parse_model_baseline("model:churn:3"),
            Some(Ok(("churn".into(), "3".into())))
        );
        assert!(parse_model_baseline("model:churn").unwrap().is_err());
        assert!(parse_model_baseline("azureml:churn:3").is_none());
    }

    #[test]
    fn hours_and_windows() {
        // 2026-12-06T10:30:00Z
        let now = 1_796_553_000;
        assert_eq!(Hour::of(now).folder(), "2026/12/06/10");
        assert_eq!(Hour::of(0).folder(), "1970/01/01/00");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(Hour::of(1_709_251_199).folder(), "2024/02/29/23");
        let w = window(now, 24);
        assert_eq!(w.len(), 24);
        assert_eq!(w[0].folder(), "2026/12/05/11");
        assert_eq!(w[23].folder(), "2026/12/06/10");
        // Across a year boundary.
        let new_year = 1_798_761_600; // 2027-01-01T00:00:00Z
        let w = window(new_year + 59, 2);
        assert_eq!(
            w.iter().map(Hour::folder).collect::<Vec<_>>(),
            ["2026/12/31/23", "2027/01/01/00"]
        );
    }

    #[test]
    fn job_input_uris() {
        assert_eq!(
            data_uri("azureml://datastores/workspaceblobstore/paths/LocalUpload/a/train.csv").as_deref(),
            Some("azureml://datastores/workspaceblobstore/paths/LocalUpload/a/train.csv")
        );
        assert_eq!(
            data_uri(
                "azureml:/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/\
                 workspaces/ws/data/train/versions/4"
            )
            .as_deref(),
            Some("azureml:train:4")
        );
        assert_eq!(data_uri("azureml:train:2").as_deref(), Some("azureml:train:2"));
        assert_eq!(data_uri("https://example.invalid/x.csv"), None);
        assert_eq!(data_uri("./data/train.csv"), None);
    }
}
