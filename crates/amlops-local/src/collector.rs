//! Production data collection for online deployments whose `properties.dataCollector` enables collections.
//!
//! The scoring driver logs each scoring call's collections (what the script passes to
//! `azureml.ai.monitoring.Collector`, through the compatible shim put on the scoring process's `PYTHONPATH`, and
//! otherwise the parsed request and the `run()` result for `model_inputs`/`model_outputs`, the raw bodies for
//! `request`/`response`) as events in the data collector's format. This module writes them where Azure ML does:
//! `modelDataCollector/<endpoint>/<deployment>/<collection>/<yyyy>/<MM>/<dd>/<HH>/<file>.jsonl` in the default
//! datastore's container, one JSON event a line, one file per scoring process and hour.
//!
//! The event time is the time of the scoring call, or the local-workspace header `x-amlops-event-time`
//! (RFC 3339), which lets tests and the demo send a day of traffic in seconds.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::app::App;
use crate::blob::DEFAULT_CONTAINER;

/// The request header that sets the event time of the collected data (local workspace only).
pub const EVENT_TIME_HEADER: &str = "x-amlops-event-time";

const SHIM_INIT: &str = include_str!("monitoring_shim/__init__.py");
const SHIM_CONTEXT: &str = include_str!("monitoring_shim/context.py");

/// The enabled collections of a deployment's `dataCollector` with their sampling rates (empty: none).
pub(crate) fn enabled_collections(props: &Value) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if let Some(cs) = props["dataCollector"]["collections"].as_object() {
        for (name, c) in cs {
            let on = c["dataCollectionMode"]
                .as_str()
                .is_some_and(|m| m.eq_ignore_ascii_case("enabled"));
            if on {
                let rate = c["samplingRate"].as_f64().unwrap_or(1.0).clamp(0.0, 1.0);
                out.insert(name.clone(), rate);
            }
        }
    }
    out
}

/// Configure the scoring process: the collections (`AMLOPS_COLLECTIONS`), the event source, and the
/// `azureml.ai.monitoring` shim on `PYTHONPATH`. Returns whether anything is collected.
pub(crate) fn configure(
    app: &App,
    ep: &str,
    dep: &str,
    props: &Value,
    cmd: &mut tokio::process::Command,
) -> Result<bool, String> {
    let collections = enabled_collections(props);
    let shim = app.dir("runtime/monitoring_shim");
    let package = shim.join("azureml").join("ai").join("monitoring");
    std::fs::create_dir_all(&package).map_err(|e| format!("cannot create {}: {e}", package.display()))?;
    for (dir, file, text) in [
        (shim.join("azureml"), "__init__.py", ""),
        (shim.join("azureml").join("ai"), "__init__.py", ""),
        (package.clone(), "__init__.py", SHIM_INIT),
        (package.clone(), "context.py", SHIM_CONTEXT),
    ] {
        write(&dir.join(file), text)?;
    }
    // The shim first; a PYTHONPATH the deployment sets in its environment variables after it.
    let mut path = std::ffi::OsString::from(shim.as_os_str());
    if let Some(existing) = props["environmentVariables"]["PYTHONPATH"]
        .as_str()
        .filter(|p| !p.is_empty())
    {
        path.push(if cfg!(windows) { ";" } else { ":" });
        path.push(existing);
    }
    cmd.env("PYTHONPATH", path);
    cmd.env(
        "AMLOPS_COLLECTIONS",
        serde_json::to_string(&collections).unwrap_or_else(|_| "{}".into()),
    );
    cmd.env(
        "AMLOPS_COLLECTOR_SOURCE",
        format!(
            "{}/onlineEndpoints/{ep}/deployments/{dep}",
            app.arm_id("").trim_end_matches('/')
        ),
    );
    Ok(!collections.is_empty())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The hour folder `<yyyy>/<MM>/<dd>/<HH>` of an RFC 3339 time; `None` when it does not parse.
pub(crate) fn hour_folder(time: &str) -> Option<String> {
    let t = time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::UTC);
    Some(format!(
        "{:04}/{:02}/{:02}/{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour()
    ))
}

/// Append the events the driver returned for one scoring call (`[{"collection", "event"}]`) to the
/// deployment's collector files. `file` names the scoring process's file in each hour folder.
pub(crate) fn store(app: &App, ep: &str, dep: &str, file: &str, collected: &Value) -> Result<usize, String> {
    let Some(items) = collected.as_array() else {
        return Ok(0);
    };
    let mut lines: BTreeMap<String, String> = BTreeMap::new();
    for item in items {
        let (Some(collection), event) = (item["collection"].as_str(), &item["event"]) else {
            continue;
        };
        let valid = !collection.is_empty()
            && collection
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let Some(hour) = event["time"].as_str().and_then(hour_folder) else {
            continue;
        };
        if !valid {
            continue;
        }
        let name = format!("modelDataCollector/{ep}/{dep}/{collection}/{hour}/{file}.jsonl");
        let line = lines.entry(name).or_default();
        line.push_str(&event.to_string());
        line.push('\n');
    }
    let count = lines.len();
    for (name, text) in lines {
        let mut data = app
            .blobs
            .read(DEFAULT_CONTAINER, &name)
            .map_err(|e| e.to_string())?
            .map(|(_, d)| d)
            .unwrap_or_default();
        data.extend_from_slice(text.as_bytes());
        app.blobs
            .put(
                DEFAULT_CONTAINER,
                &name,
                &data,
                Some("application/x-ndjson".into()),
                BTreeMap::new(),
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(count)
}

/// The time the driver stamps on the call's events: the header, when it is a valid RFC 3339 time, else now.
pub(crate) fn event_time(header: Option<&str>) -> Result<String, String> {
    match header {
        Some(t) => {
            if hour_folder(t).is_none() {
                return Err(format!(
                    "the header {EVENT_TIME_HEADER} must be an RFC 3339 time such as 2026-12-01T08:51:30Z, not '{t}'"
                ));
            }
            Ok(t.to_string())
        }
        None => Ok(crate::util::now_rfc3339()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collections_and_hours() {
        let props = json!({"dataCollector": {"collections": {
            "model_inputs": {"dataCollectionMode": "enabled", "samplingRate": 0.5},
            "model_outputs": {"dataCollectionMode": "Enabled"},
            "request": {"dataCollectionMode": "Disabled"}}}});
        let c = enabled_collections(&props);
        assert_eq!(
            c,
            BTreeMap::from([
                ("model_inputs".to_string(), 0.5),
                ("model_outputs".to_string(), 1.0)
            ])
        );
        assert!(enabled_collections(&json!({})).is_empty());
        assert_eq!(
            hour_folder("2026-12-01T08:51:30Z").as_deref(),
            Some("2026/12/01/08")
        );
        assert_eq!(
            hour_folder("2026-12-01T00:30:00+02:00").as_deref(),
            Some("2026/11/30/22")
        );
        assert_eq!(hour_folder("yesterday"), None);
        assert!(event_time(Some("noon")).unwrap_err().contains(EVENT_TIME_HEADER));
    }
}
