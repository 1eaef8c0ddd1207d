//! The `azureml_models` fuzz target's committed corpus and crashers
//! (`fuzz/corpus/azureml_models`, `fuzz/regressions/azureml_models`), replayed on stable: every
//! response body deserialises into each model, or fails, without a panic. See
//! docs/reliability.md, "Fuzzing".

use std::path::{Path, PathBuf};

use amlops_azureml::models::*;

/// Every input of a target: its minimised corpus, then its regressions.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join(target)) else {
            continue;
        };
        for e in entries {
            out.push(e.unwrap().path());
        }
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no committed inputs for the fuzz target {target}"
    );
    out
}

/// Run `f` on every input of `target`, naming the input that panics.
fn replay(target: &str, f: impl Fn(&[u8])) {
    for path in inputs(target) {
        let data = std::fs::read(&path).unwrap();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&data)));
        assert!(r.is_ok(), "{target}: {} panicked", path.display());
    }
}

fn de<T: serde::de::DeserializeOwned>(data: &[u8]) -> bool {
    serde_json::from_slice::<T>(data).is_ok()
}

#[test]
fn response_bodies_deserialise_or_fail_cleanly() {
    replay("azureml_models", |d| {
        let parsed = [
            de::<Job>(d),
            de::<Page<Job>>(d),
            de::<Workspace>(d),
            de::<CodeVersion>(d),
            de::<PendingUpload>(d),
            de::<Datastore>(d),
            de::<DatastoreSecrets>(d),
            de::<ModelContainer>(d),
            de::<ModelVersion>(d),
            de::<Page<ModelVersion>>(d),
            de::<EnvironmentVersion>(d),
            de::<ComponentVersion>(d),
            de::<OnlineEndpoint>(d),
            de::<OnlineDeployment>(d),
            de::<Page<OnlineDeployment>>(d),
            de::<EndpointKeys>(d),
            de::<EndpointToken>(d),
            de::<DeploymentLogs>(d),
            de::<Schedule>(d),
            de::<AsyncOperation>(d),
            de::<RunDetails>(d),
            de::<Run>(d),
            de::<MlflowRun>(d),
        ];
        // Anything that is not JSON is refused by every model.
        if serde_json::from_slice::<serde_json::Value>(d).is_err() {
            assert!(parsed.iter().all(|ok| !ok));
        }
        let _error = amlops_azureml::ArmError::from_body(d);
        assert!(amlops_azureml::error::excerpt(d).chars().count() <= amlops_azureml::error::EXCERPT_LEN + 1);
    });
}
