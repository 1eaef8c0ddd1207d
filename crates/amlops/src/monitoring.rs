//! The demo's monitoring stage: a day of sample traffic, drifted on purpose, through the deployed endpoint's real
//! scoring URI (the deployment collects its inputs and outputs), then the sample's `monitor.yml`, which gates the
//! drift and data quality of what the endpoint received in the last 24 hours.
//!
//! The local workspace stamps each call's collected events with the `x-amlops-event-time` header, so the day of
//! traffic takes seconds: the calls are spread over the last 24 hours.

use std::sync::Arc;

use amlops_agent::{CancellationToken, NetworkSettings};
use amlops_azureml::credential::StaticToken;
use amlops_azureml::{AzureMlClient, ClientConfig, Credential};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The header the local workspace reads the event time of collected data from.
pub const EVENT_TIME_HEADER: &str = "x-amlops-event-time";

/// How much traffic to send.
#[derive(Debug, Clone, Copy)]
pub struct Traffic {
    /// Scoring calls, spread evenly over the last 24 hours.
    pub calls: usize,
    /// Rows in each call.
    pub rows_per_call: usize,
    /// Seed of the (deterministic) sample.
    pub seed: u64,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            calls: 48,
            rows_per_call: 10,
            seed: 7,
        }
    }
}

/// What was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Calls answered 200.
    pub calls: usize,
    /// Rows scored.
    pub rows: usize,
}

/// A small deterministic generator (xorshift64*), enough for sample data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        let u = self.next().max(f64::MIN_POSITIVE);
        let v = self.next();
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// One customer as the churn endpoint scores it, drifted from the training data as the sample's `gen_data.py`
/// drifts production: shorter tenure, higher charges, more monthly contracts, more customers in the east.
fn drifted_row(rng: &mut Rng) -> Value {
    let tenure = rng.gauss(18.0, 14.0).max(0.0).floor() as i64;
    let charges = (rng.gauss(82.0, 20.0).max(15.0) * 100.0).round() / 100.0;
    let calls = ((-(1.0 - rng.next()).ln() / 0.7).floor() as i64).min(9);
    let monthly = i64::from(rng.next() < 0.75);
    let region = ["north", "south", "east", "east"][((rng.next() * 4.0) as usize).min(3)];
    json!({
        "tenure_months": tenure,
        "monthly_charges": charges,
        "support_calls": calls,
        "contract_monthly": monthly,
        "region": region,
    })
}

/// The sample traffic: one request body per call.
pub fn sample_requests(traffic: &Traffic) -> Vec<Value> {
    let mut rng = Rng(traffic.seed.max(1));
    (0..traffic.calls)
        .map(|_| {
            let rows: Vec<Value> = (0..traffic.rows_per_call)
                .map(|_| drifted_row(&mut rng))
                .collect();
            json!({ "data": rows })
        })
        .collect()
}

/// The event time of call `i` of `calls`: spread from 23 hours ago to now, oldest first, so that every call lands
/// in one of the 24 hour folders a `24h` window reads (the current hour and the 23 before it).
pub fn call_time(now: OffsetDateTime, i: usize, calls: usize) -> OffsetDateTime {
    let span = 23 * 3600;
    let back = if calls <= 1 {
        0
    } else {
        span - span * i as i64 / (calls as i64 - 1)
    };
    now - time::Duration::seconds(back)
}

/// Send the sample traffic through `endpoint`'s scoring URI with its primary key. `base_url` is the local
/// workspace's address, `token` its token.
pub async fn send_sample_traffic(
    base_url: &str,
    token: &str,
    config: &amlops_local::LocalConfig,
    endpoint: &str,
    traffic: &Traffic,
) -> Result<Sent, String> {
    let http = amlops_azureml::build_client(&NetworkSettings::default()).map_err(|e| e.to_string())?;
    let client_config = ClientConfig::new(
        base_url,
        &config.subscription_id,
        &config.resource_group,
        &config.workspace,
    );
    let secrets: amlops_azureml::SecretSink = Arc::new(|_: &str| {});
    let credential = Credential::new(Arc::new(StaticToken::new(token)), secrets.clone());
    let client = AzureMlClient::new(
        http,
        client_config,
        Some(Arc::new(credential)),
        secrets,
        CancellationToken::new(),
    )
    .map_err(|e| e.to_string())?;
    let ep = client
        .get_online_endpoint(endpoint)
        .await
        .map_err(|e| format!("reading the endpoint '{endpoint}': {e}"))?;
    let uri = ep
        .properties
        .scoring_uri
        .ok_or_else(|| format!("the endpoint '{endpoint}' has no scoring URI"))?;
    let key = client
        .list_endpoint_keys(endpoint)
        .await
        .map_err(|e| format!("reading the keys of the endpoint '{endpoint}': {e}"))?
        .primary_key
        .ok_or_else(|| format!("the endpoint '{endpoint}' has no key"))?;
    let now = OffsetDateTime::now_utc();
    let mut sent = Sent { calls: 0, rows: 0 };
    let requests = sample_requests(traffic);
    for (i, body) in requests.iter().enumerate() {
        let time = call_time(now, i, requests.len())
            .format(&Rfc3339)
            .map_err(|e| e.to_string())?;
        let resp = client
            .invoke_endpoint_with_headers(&uri, &key, None, &[(EVENT_TIME_HEADER, time)], body)
            .await
            .map_err(|e| format!("scoring call {} of {}: {e}", i + 1, requests.len()))?;
        if !resp.status.is_success() {
            return Err(format!(
                "scoring call {} of {} answered {}: {}",
                i + 1,
                requests.len(),
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ));
        }
        sent.calls += 1;
        sent.rows += body["data"].as_array().map_or(0, Vec::len);
    }
    Ok(sent)
}

/// The sample project's monitoring pipeline (after `azure-pipelines.yml`).
pub const MONITOR_PIPELINE: &str = "monitor.yml";

/// Run the monitoring stage after the main pipeline's `earlier` steps: send the sample traffic through the endpoint
/// the deployment step deployed to, then run `monitor.yml` (in `root`) with the variables `endpointName`,
/// `deploymentName` and `modelVersion` taken from the earlier steps' outputs.
pub async fn run_stage(
    workspace: &amlops_local::LocalWorkspace,
    settings: &crate::pipeline::RunSettings,
    root: &std::path::Path,
    earlier: &[crate::pipeline::StepReport],
    traffic: &Traffic,
) -> Result<Vec<crate::pipeline::StepReport>, String> {
    let output = |name: &str| crate::pipeline::latest_output(earlier, name);
    let endpoint = output("endpointName")?;
    let deployment = output("deploymentName")?;
    let model_version = output("modelVersion")?;
    println!(
        "\n── monitoring: {} calls of {} rows through endpoint '{endpoint}' (deployment '{deployment}'), \
         spread over the last 24 hours",
        traffic.calls, traffic.rows_per_call
    );
    let sent = send_sample_traffic(
        workspace.base_url(),
        workspace.token(),
        workspace.config(),
        &endpoint,
        traffic,
    )
    .await?;
    println!(
        "   {} rows scored in {} calls and collected",
        sent.rows, sent.calls
    );
    let path = root.join(MONITOR_PIPELINE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut pipeline = crate::pipeline::parse_pipeline_text(&text, &path).map_err(|e| e.to_string())?;
    pipeline.variables.insert("endpointName".into(), endpoint);
    pipeline.variables.insert("deploymentName".into(), deployment);
    pipeline.variables.insert("modelVersion".into(), model_version);
    crate::pipeline::run_pipeline(&pipeline, settings)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_is_deterministic_drifted_and_spread_over_a_day() {
        let t = Traffic::default();
        let a = sample_requests(&t);
        assert_eq!(a, sample_requests(&t));
        assert_eq!(a.len(), 48);
        let rows: Vec<&Value> = a.iter().flat_map(|r| r["data"].as_array().unwrap()).collect();
        assert_eq!(rows.len(), 480);
        let east = rows.iter().filter(|r| r["region"] == "east").count() as f64 / 480.0;
        assert!((0.4..0.6).contains(&east), "{east}");
        let tenure: f64 = rows
            .iter()
            .map(|r| r["tenure_months"].as_f64().unwrap())
            .sum::<f64>()
            / 480.0;
        assert!((14.0..24.0).contains(&tenure), "{tenure}");
        assert!(
            rows.iter()
                .all(|r| (0..=9).contains(&r["support_calls"].as_i64().unwrap()))
        );

        let now = OffsetDateTime::from_unix_timestamp(1_796_553_000).unwrap();
        assert_eq!(call_time(now, 47, 48), now);
        assert_eq!(now - call_time(now, 0, 48), time::Duration::seconds(23 * 3600));
        assert!(call_time(now, 10, 48) < call_time(now, 11, 48));
    }
}
