//! What each fuzz target does with its input, shared by the targets (the stable regression tests
//! in each crate replay the committed corpora through the same calls).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use amlops_drift::{DataSource, DriftConfig, Thresholds, compute_drift};

/// Where a panic comes from: its source file, or, for one raised inside the standard library
/// (`capacity overflow`, a slice index), `crate <name>` of the first caller outside it (found
/// by symbol name: dependencies carry no line tables in test builds).
pub fn panic_origin(info: &std::panic::PanicHookInfo<'_>) -> String {
    let file = info.location().map(|l| l.file().to_string()).unwrap_or_default();
    if !file.starts_with("/rustc/") {
        return file;
    }
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let symbols: Vec<&str> = trace
        .lines()
        .filter_map(|l| l.trim().split_once(": ").map(|(_, s)| s))
        .filter(|s| !s.starts_with('/'))
        .collect();
    let crate_of = |s: &str| {
        s.trim_start_matches('<')
            .split("::")
            .next()
            .unwrap_or("")
            .to_string()
    };
    let after_panic = symbols
        .iter()
        .rposition(|s| s.contains("panicking") || s.contains("rust_begin_unwind"))
        .map_or(0, |i| i + 1);
    symbols[after_panic..]
        .iter()
        .map(|s| crate_of(s))
        .find(|c| !matches!(c.as_str(), "std" | "core" | "alloc"))
        .map_or(file, |c| format!("crate {c}"))
}

/// Whether a panic's origin is a dependency (not our code): a file of the cargo registry, or a
/// crate whose name does not start with `amlops`.
pub fn from_dependency(origin: &str) -> bool {
    origin.contains("registry/src/")
        || origin
            .strip_prefix("crate ")
            .is_some_and(|c| !c.starts_with("amlops"))
}

/// Set when a dependency panicked (and the drift reader caught it) during the current input.
static DEPENDENCY_PANIC: AtomicBool = AtomicBool::new(false);

/// libfuzzer-sys aborts on every panic, even one that is caught. The drift reader catches the
/// panics of its dependencies (`parquet`, `arrow`) at the column boundary, as the product must:
/// those unwind to that boundary (each place is printed once, for the record). A panic anywhere
/// else (our code) aborts at once, so the fuzzer reports it as a crash and saves the input.
pub fn quiet_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let origin = panic_origin(info);
            if !from_dependency(&origin) {
                static ABORTING: AtomicBool = AtomicBool::new(false);
                if ABORTING.swap(true, Ordering::SeqCst) {
                    // Another thread is already reporting: let it write the crash input.
                    loop {
                        std::thread::park();
                    }
                }
                eprintln!("panic outside a dependency ({origin}): {info}");
                std::process::abort();
            }
            DEPENDENCY_PANIC.store(true, Ordering::SeqCst);
            static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            if let Ok(mut seen) = SEEN.lock()
                && seen.get_or_insert_with(HashSet::new).insert(at)
            {
                eprintln!("dependency panic ({origin}), caught at the column boundary: {info}");
            }
        }))
    });
}

/// Write `data` as a `.csv` or `.parquet` file and compare the data set with itself, with and
/// without thresholds on every metric.
pub fn drift_file(ext: &str, data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("fuzz.{ext}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(data))
        .expect("write the input");
    DEPENDENCY_PANIC.store(false, Ordering::SeqCst);
    drift_path(&path);
    // With AMLOPS_FUZZ_KEEP=<folder>, inputs on which a dependency panicked are kept there
    // (they become regression inputs: the panic must stay caught).
    if DEPENDENCY_PANIC.swap(false, Ordering::SeqCst)
        && let Some(dir) = std::env::var_os("AMLOPS_FUZZ_KEEP")
    {
        let name = format!("{ext}-{:016x}", fnv(data));
        let _ = std::fs::write(Path::new(&dir).join(name), data);
    }
}

/// FNV-1a of `data`, to name kept inputs.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Compare the data set at `path` with itself; a report or an error naming the file.
pub fn drift_path(path: &Path) {
    let Ok(src) = DataSource::from_path(path) else {
        return;
    };
    let config = DriftConfig {
        thresholds: Thresholds::parse("js=0.1\npsi=0.1\nnwd=0.1\nks=0.05\nchi2=0.05").expect("thresholds"),
        threads: 1,
        ..Default::default()
    };
    match compute_drift(&src, &src, &config) {
        Ok(report) => {
            let _json = report.to_json();
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
}

/// Plan an `az ml` YAML file (every kind the caller may force) and parse the text as a
/// `--set` override.
pub fn spec_yaml(text: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fuzz.yml");
    let _ = amlops_spec::plan_str(text, &path, amlops_spec::PlanOptions::default());
    let _ = amlops_spec::SetOverride::parse(text);
}

/// Parse gate rules and evaluate each against metrics with ordinary, zero and huge values.
pub fn rules(text: &str) {
    use amlops_rules::{MetricSet, Metrics, RuleOrigin, parse_rules};
    let origin = RuleOrigin::Input("rules".into());
    let Ok(rules) = parse_rules(text, &origin) else {
        return;
    };
    for rule in &rules {
        let names = rule.metrics();
        for value in [0.5, 0.0, -1.0, 1e308, f64::MIN_POSITIVE] {
            let set = |side| {
                MetricSet::new(
                    "fuzz",
                    names
                        .iter()
                        .filter(|(s, _)| *s == side)
                        .map(|(_, n)| (n.clone(), value)),
                )
            };
            let metrics = Metrics {
                candidate: set(amlops_rules::Side::Candidate),
                champion: Some(set(amlops_rules::Side::Champion)),
            };
            let _ = rule.lhs.eval(&metrics);
            let _ = rule.rhs.eval(&metrics);
        }
    }
}

/// Decode arbitrary output as the agent does, and check the writer's neutralising: a line it
/// has neutralised is never read as a logging command.
pub fn logging_command(text: &str) {
    use amlops_agent::command::{neutralise, parse_command, unescape};
    for line in text.lines() {
        let _ = parse_command(line, true);
        let _ = parse_command(line, false);
        let safe = neutralise(line);
        assert!(
            parse_command(&safe, true).is_none(),
            "a neutralised line is still a logging command: {safe:?}"
        );
        let _ = unescape(line, true);
    }
    let _ = amlops_testkit::RunResult::decode(Some(0), text.to_string(), String::new());
}

/// Deserialise a response body into every model the client reads; error bodies too.
pub fn azureml_models(data: &[u8]) {
    use amlops_azureml::models::*;
    fn de<T: serde::de::DeserializeOwned>(data: &[u8]) {
        let _ = serde_json::from_slice::<T>(data);
    }
    de::<Job>(data);
    de::<Page<Job>>(data);
    de::<Workspace>(data);
    de::<CodeVersion>(data);
    de::<PendingUpload>(data);
    de::<Datastore>(data);
    de::<DatastoreSecrets>(data);
    de::<ModelContainer>(data);
    de::<ModelVersion>(data);
    de::<Page<ModelVersion>>(data);
    de::<EnvironmentVersion>(data);
    de::<ComponentVersion>(data);
    de::<OnlineEndpoint>(data);
    de::<Page<OnlineDeployment>>(data);
    de::<OnlineDeployment>(data);
    de::<EndpointKeys>(data);
    de::<EndpointToken>(data);
    de::<DeploymentLogs>(data);
    de::<Schedule>(data);
    de::<AsyncOperation>(data);
    de::<RunDetails>(data);
    de::<Run>(data);
    de::<MlflowRun>(data);
    let _ = amlops_azureml::ArmError::from_body(data);
    let _ = amlops_azureml::error::excerpt(data);
}
