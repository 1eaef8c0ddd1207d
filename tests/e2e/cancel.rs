//! Cancelling a pipeline in the middle of training, through the Node launcher, as the agent does: SIGINT to the
//! launcher's process only. The launcher forwards it, the train task cancels the Azure ML job, the local job
//! process is killed and the job ends Canceled.

use std::path::{Path, PathBuf};

use amlops_local::{LocalConfig, LocalWorkspace, Timing};
use amlops_testkit::{AgentRun, AzureRmSpec, TaskResult, cargo_bin, send_sigint};

/// A task folder as the .vsix lays it out: launcher.js, launcher.json, bin/<platform>-<arch>/<binary>.
fn task_folder(dir: &Path, binary: &str) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let bin_dir = dir
        .join("bin")
        .join(format!("{}-{}", node_platform(), node_arch()));
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::copy(cargo_bin(binary), bin_dir.join(binary)).unwrap();
    std::fs::copy(repo.join("task-manifests/launcher.js"), dir.join("launcher.js")).unwrap();
    std::fs::write(dir.join("launcher.json"), format!("{{\"binary\":\"{binary}\"}}")).unwrap();
    dir.join("launcher.js")
}

fn node_platform() -> &'static str {
    match std::env::consts::OS {
        "windows" => "win32",
        other => other,
    }
}

fn node_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    }
}

const SLOW_JOB: &str = r#"$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
type: command
command: python slow.py
code: ./src
environment:
  image: python:3.11-slim
experiment_name: cancel-test
"#;

const SLOW_SCRIPT: &str = r#"import os, time
with open(os.environ["PID_FILE"], "w") as f:
    f.write(str(os.getpid()))
print("training started", flush=True)
time.sleep(600)
print("never reached", flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_to_the_launcher_cancels_the_job_and_kills_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(project.join("job.yml"), SLOW_JOB).unwrap();
    let pid_file = dir.path().join("job.pid");
    std::fs::write(
        project.join("src/slow.py"),
        SLOW_SCRIPT.replace(
            "os.environ[\"PID_FILE\"]",
            &format!("{:?}", pid_file.to_string_lossy()),
        ),
    )
    .unwrap();
    let mut config = LocalConfig::new(dir.path().join("state"));
    config.timing = Timing::immediate();
    let ws = LocalWorkspace::start(config).await.unwrap();
    let cfg = ws.config().clone();

    let launcher = task_folder(&dir.path().join("task"), "amlops-train");
    let run = AgentRun::via_node(&launcher)
        .azure_rm("azureSubscription", AzureRmSpec::local(ws.base_url(), ws.token()))
        .input("resourceGroup", &cfg.resource_group)
        .input("workspace", &cfg.workspace)
        .input("jobFile", project.join("job.yml").to_string_lossy())
        .input("jobName", "cancel-me")
        .env("AMLOPS_POLL_INTERVAL_MS", "50");
    // Send SIGINT once the job's own log line arrives.
    let mut running = run.start();
    running.wait_for_line(
        |l| l.contains("training started"),
        std::time::Duration::from_secs(120),
    );
    send_sigint(running.child());
    let result = running.finish();
    let status_code = result.exit_code;

    assert_ne!(status_code, Some(0), "{}", result.stdout);
    assert_eq!(result.agent_result(), TaskResult::Canceled, "{}", result.stdout);

    // The job itself is Canceled in the workspace, and its process is gone.
    let url = format!("{}/jobs/cancel-me?api-version=2026-07-01", ws.workspace_url());
    let job: serde_json::Value = reqwest::Client::new()
        .get(&url)
        .bearer_auth(ws.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(job["properties"]["status"], "Canceled", "{job}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    assert!(
        !process_alive(pid.trim()),
        "the training process {pid} still runs"
    );
    ws.shutdown().await.unwrap();
}

/// Whether a process exists and has not exited (a zombie waiting to be reaped has exited).
fn process_alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}
