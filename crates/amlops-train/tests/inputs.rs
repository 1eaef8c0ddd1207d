//! The train binary run as the agent would run it.

use amlops_testkit::{AgentRun, AzureRmSpec, TaskResult, cargo_bin};

fn base() -> AgentRun {
    AgentRun::new(cargo_bin("amlops-train"))
        .azure_rm(
            "azureSubscription",
            AzureRmSpec::service_principal("https://management.azure.com/", "p@ssw0rd-xyz"),
        )
        .input("resourceGroup", "rg")
        .input("workspace", "ws")
}

#[test]
fn missing_job_file_input_is_named() {
    let run = base().input("jobFile", "").run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert_eq!(run.exit_code, Some(1));
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{}", run.stdout);
    assert!(
        errors[0].contains("'jobFile'") && errors[0].contains("required"),
        "{errors:?}"
    );
    // The key was registered as a secret before anything else was printed.
    assert_eq!(run.registered_secrets(), ["p@ssw0rd-xyz"]);
}

#[test]
fn job_file_that_does_not_exist_is_named() {
    let run = base().input("jobFile", "/nonexistent/job.yml").run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    assert!(
        run.errors()[0].contains("/nonexistent/job.yml"),
        "{:?}",
        run.errors()
    );
}

#[test]
fn unsupported_scheme_is_rejected_with_the_supported_ones() {
    let mut spec = AzureRmSpec::workload_identity("https://management.azure.com/");
    spec.scheme = "Certificate".into();
    let run = AgentRun::new(cargo_bin("amlops-train"))
        .azure_rm("azureSubscription", spec)
        .run();
    assert_eq!(run.agent_result(), TaskResult::Failed);
    let e = &run.errors()[0];
    assert!(
        e.contains("'Certificate'") && e.contains("WorkloadIdentityFederation"),
        "{e}"
    );
}

#[test]
fn bad_timeout_is_named() {
    let dir = tempfile_dir();
    let job = dir.join("job.yml");
    std::fs::write(&job, "command: echo hi\n").unwrap();
    let run = base()
        .input("jobFile", job.to_string_lossy())
        .input("timeoutMinutes", "soon")
        .run();
    assert!(run.errors()[0].contains("'timeoutMinutes'"), "{:?}", run.errors());
}

fn tempfile_dir() -> std::path::PathBuf {
    let run = AgentRun::new(cargo_bin("amlops-train"));
    run.temp_dir().to_path_buf()
}
