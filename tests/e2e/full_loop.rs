//! The sample churn project's pipeline, start to finish, then its monitoring stage: a day of sample traffic through
//! the deployed endpoint (collected by the deployment) and the live-data gate of monitor.yml.

use std::collections::BTreeMap;
use std::path::Path;

use amlops::pipeline::{RunSettings, parse_pipeline_text, run_pipeline};
use amlops_local::{LocalConfig, LocalWorkspace, Timing};

fn write_project(dir: &Path) {
    for (rel, text) in amlops::demo::SAMPLE_PROJECT {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn bin_dir() -> std::path::PathBuf {
    amlops_testkit::cargo_bin("amlops-train")
        .parent()
        .unwrap()
        .to_path_buf()
}

fn settings(ws: &LocalWorkspace, root: &Path) -> RunSettings {
    let cfg = ws.config().clone();
    let host = amlops_agent::TaskEnv::from_process();
    let mut extra = BTreeMap::new();
    // Fast polling for tests (documented test knobs of the tasks).
    extra.insert("AMLOPS_POLL_INTERVAL_MS".to_string(), "50".to_string());
    extra.insert(amlops_agent::knobs::TEST_HARNESS_VAR.to_string(), "1".to_string());
    RunSettings {
        bin_dir: bin_dir(),
        root: root.to_path_buf(),
        arm_url: ws.base_url().to_string(),
        subscription_id: cfg.subscription_id.clone(),
        workspace_override: Some((cfg.resource_group.clone(), cfg.workspace.clone())),
        extra_env: extra,
        base_env: ["PATH", "HOME", "LANG"]
            .iter()
            .filter_map(|k| host.vars_exact(k).map(|v| (k.to_string(), v.to_string())))
            .collect(),
        access_token: Some(ws.token().to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_pipeline_runs_train_gate_register_deploy_and_drift() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("churn");
    write_project(&root);
    let mut config = LocalConfig::new(dir.path().join("state"));
    config.timing = Timing::immediate();
    let ws = LocalWorkspace::start(config).await.unwrap();
    let text = std::fs::read_to_string(root.join("azure-pipelines.yml")).unwrap();
    let pipeline = parse_pipeline_text(&text, &root.join("azure-pipelines.yml")).unwrap();
    let settings = settings(&ws, &root);
    let mut reports = run_pipeline(&pipeline, &settings).await.unwrap();
    let monitoring = amlops::monitoring::run_stage(
        &ws,
        &settings,
        &root,
        &reports,
        &amlops::monitoring::Traffic::default(),
    )
    .await
    .unwrap();
    reports.extend(monitoring);
    let results: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r.title.as_str(), r.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("Train the churn model", "Succeeded"),
            ("Quality gate", "Succeeded"),
            ("Register the model", "Succeeded"),
            ("Blue/green deployment", "Succeeded"),
            (
                "Live data gate (last 24 h vs training data)",
                "SucceededWithIssues"
            ),
        ],
        "{reports:#?}"
    );
    let train = &reports[0].outputs;
    assert_eq!(train["jobStatus"], "Completed");
    let accuracy: f64 = train["metric_accuracy"].parse().unwrap();
    assert!((0.6..=1.0).contains(&accuracy), "{accuracy}");
    assert_eq!(reports[1].outputs["gatePassed"], "true");
    assert_eq!(reports[2].outputs["modelName"], "churn");
    assert!(
        reports[3].outputs["traffic"].contains("100"),
        "{:?}",
        reports[3].outputs
    );
    assert_eq!(reports[4].outputs["gatePassed"], "false");
    let drifted = &reports[4].outputs["driftedColumns"];
    for column in ["tenure_months", "region"] {
        assert!(drifted.contains(column), "{drifted}");
    }
    // The gate read what the deployment collected: 480 rows over the last day, against the 600 training rows.
    let summary = std::fs::read_to_string(&reports[4].summaries[0]).unwrap();
    assert!(summary.contains("480"), "{summary}");
    assert!(summary.contains("600"), "{summary}");
    ws.shutdown().await.unwrap();
}
