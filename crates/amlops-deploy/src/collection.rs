//! Production data collection (`dataCollection`, `dataCollectionSamplingRate`): the deployment's
//! `properties.dataCollector`, which makes Azure ML write what the deployment receives and returns to the
//! workspace's default blob datastore under `modelDataCollector/<endpoint>/<deployment>/<collection>/...`
//! (read back by AzureMLGate@1 with `targetData: endpoint:<endpoint>/<deployment>`).

use amlops_agent::{AgentError, Inputs};
use serde_json::{Value, json};

use crate::DeployError;

/// What `dataCollection` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataCollection {
    /// `inputs`: the `model_inputs` collection.
    Inputs {
        /// `dataCollectionSamplingRate`, 0-1.
        sampling_rate: f64,
    },
    /// `inputsOutputs`: `model_inputs` and `model_outputs`.
    InputsOutputs {
        /// `dataCollectionSamplingRate`, 0-1.
        sampling_rate: f64,
    },
}

impl DataCollection {
    /// Read `dataCollection` (`off` by default: `None`, the task adds nothing and a `data_collector` in the
    /// deployment YAML is kept as written) and `dataCollectionSamplingRate` (0-1, default 1).
    pub fn read(i: &Inputs<'_>) -> Result<Option<Self>, DeployError> {
        let mode = i.pick_list("dataCollection", &["off", "inputs", "inputsOutputs"], "off")?;
        let raw = i.string_or("dataCollectionSamplingRate", "1");
        let sampling_rate = parse_rate(&raw)?;
        Ok(match mode.as_str() {
            "inputs" => Some(Self::Inputs { sampling_rate }),
            "inputsOutputs" => Some(Self::InputsOutputs { sampling_rate }),
            _ => None,
        })
    }

    /// The collections this setting enables.
    pub fn collections(&self) -> &'static [&'static str] {
        match self {
            Self::Inputs { .. } => &["model_inputs"],
            Self::InputsOutputs { .. } => &["model_inputs", "model_outputs"],
        }
    }

    /// The sampling rate.
    pub fn sampling_rate(&self) -> f64 {
        match self {
            Self::Inputs { sampling_rate } | Self::InputsOutputs { sampling_rate } => *sampling_rate,
        }
    }

    /// Set `properties.dataCollector` of a deployment request body: the collections this setting enables, with
    /// the sampling rate, rolling hourly. Other collections a deployment YAML configured (`request`,
    /// `response`...) and its other collector settings are kept; `model_inputs`/`model_outputs` follow the
    /// inputs.
    pub fn apply(&self, body: &mut Value) {
        let props = &mut body["properties"];
        if !props["dataCollector"].is_object() {
            props["dataCollector"] = json!({});
        }
        let dc = &mut props["dataCollector"];
        if !dc["collections"].is_object() {
            dc["collections"] = json!({});
        }
        for name in ["model_inputs", "model_outputs"] {
            let enabled = self.collections().contains(&name);
            if !enabled && dc["collections"].get(name).is_none_or(Value::is_null) {
                continue;
            }
            let c = &mut dc["collections"][name];
            if !c.is_object() {
                *c = json!({});
            }
            c["dataCollectionMode"] = json!(if enabled { "Enabled" } else { "Disabled" });
            c["samplingRate"] = json!(self.sampling_rate());
        }
        dc["rollingRate"] = json!("Hour");
    }
}

fn parse_rate(raw: &str) -> Result<f64, DeployError> {
    let bad = || {
        DeployError::Input(AgentError::InvalidInput {
            name: "dataCollectionSamplingRate".into(),
            value: raw.to_string(),
            expected: "a number from 0 to 1 (the share of requests collected, e.g. 0.1 for 10%)".into(),
        })
    };
    let v: f64 = raw.trim().parse().map_err(|_| bad())?;
    if !(0.0..=1.0).contains(&v) || !v.is_finite() {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amlops_agent::TaskEnv;

    fn read(pairs: &[(&str, &str)]) -> Result<Option<DataCollection>, DeployError> {
        let env = TaskEnv::from_map(
            pairs
                .iter()
                .map(|(k, v)| (amlops_agent::env::input_env_name(k), v.to_string())),
        );
        DataCollection::read(&Inputs::new(&env))
    }

    #[test]
    fn inputs_are_read_and_checked() {
        assert_eq!(read(&[]).unwrap(), None);
        assert_eq!(read(&[("dataCollection", "off")]).unwrap(), None);
        assert_eq!(
            read(&[("dataCollection", "inputs")]).unwrap(),
            Some(DataCollection::Inputs { sampling_rate: 1.0 })
        );
        assert_eq!(
            read(&[
                ("dataCollection", "inputsOutputs"),
                ("dataCollectionSamplingRate", "0.25")
            ])
            .unwrap(),
            Some(DataCollection::InputsOutputs { sampling_rate: 0.25 })
        );
        for bad in ["1.5", "-0.1", "ten", "NaN"] {
            let e = read(&[("dataCollection", "inputs"), ("dataCollectionSamplingRate", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("dataCollectionSamplingRate") && e.contains("0 to 1"),
                "{bad}: {e}"
            );
        }
        let e = read(&[("dataCollection", "outputs")]).unwrap_err().to_string();
        assert!(e.contains("dataCollection"), "{e}");
    }

    #[test]
    fn the_body_gets_the_collector() {
        let mut body = json!({"properties": {"model": "m"}});
        DataCollection::InputsOutputs { sampling_rate: 1.0 }.apply(&mut body);
        assert_eq!(
            body["properties"]["dataCollector"],
            json!({"collections": {
                "model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 1.0},
                "model_outputs": {"dataCollectionMode": "Enabled", "samplingRate": 1.0}},
                "rollingRate": "Hour"})
        );
        let mut body = json!({"properties": {}});
        DataCollection::Inputs { sampling_rate: 0.1 }.apply(&mut body);
        assert_eq!(
            body["properties"]["dataCollector"],
            json!({"collections": {"model_inputs": {"dataCollectionMode": "Enabled", "samplingRate": 0.1}},
                   "rollingRate": "Hour"})
        );
    }

    #[test]
    fn a_yaml_collector_keeps_what_the_inputs_do_not_set() {
        let mut body = json!({"properties": {"dataCollector": {
            "collections": {
                "model_inputs": {"dataCollectionMode": "enabled", "dataId": "d-in"},
                "model_outputs": {"dataCollectionMode": "enabled", "dataId": "d-out"},
                "request": {"dataCollectionMode": "enabled"}},
            "rollingRate": "Day",
            "requestLogging": {"captureHeaders": ["x"]}}}});
        DataCollection::Inputs { sampling_rate: 0.5 }.apply(&mut body);
        assert_eq!(
            body["properties"]["dataCollector"],
            json!({"collections": {
                "model_inputs": {"dataCollectionMode": "Enabled", "dataId": "d-in", "samplingRate": 0.5},
                "model_outputs": {"dataCollectionMode": "Disabled", "dataId": "d-out", "samplingRate": 0.5},
                "request": {"dataCollectionMode": "enabled"}},
                "rollingRate": "Hour",
                "requestLogging": {"captureHeaders": ["x"]}})
        );
    }
}
