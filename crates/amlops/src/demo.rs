//! `amlops demo`: the whole loop on this machine. Starts the embedded local workspace, writes the sample churn
//! project (docs/examples/churn) to a temporary folder and runs its azure-pipelines.yml with the real task binaries,
//! as the agent would; then the monitoring stage ([`crate::monitoring`]): a day of sample traffic through the
//! deployed endpoint and the sample's monitor.yml, the drift and data-quality gate on what it collected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amlops_local::{LocalConfig, LocalWorkspace};

use crate::pipeline::{RunSettings, parse_pipeline_text, run_pipeline};

/// The sample project, embedded so that the demo needs no checkout.
pub const SAMPLE_PROJECT: &[(&str, &str)] = &[
    (
        "azure-pipelines.yml",
        include_str!("../../../docs/examples/churn/azure-pipelines.yml"),
    ),
    (
        "train-job.yml",
        include_str!("../../../docs/examples/churn/train-job.yml"),
    ),
    (
        "src/train.py",
        include_str!("../../../docs/examples/churn/src/train.py"),
    ),
    (
        "score/score.py",
        include_str!("../../../docs/examples/churn/score/score.py"),
    ),
    (
        "deploy/endpoint.yml",
        include_str!("../../../docs/examples/churn/deploy/endpoint.yml"),
    ),
    (
        "deploy/deployment.yml",
        include_str!("../../../docs/examples/churn/deploy/deployment.yml"),
    ),
    (
        "deploy/smoke-request.json",
        include_str!("../../../docs/examples/churn/deploy/smoke-request.json"),
    ),
    (
        "data/train.csv",
        include_str!("../../../docs/examples/churn/data/train.csv"),
    ),
    (
        "data/baseline.csv",
        include_str!("../../../docs/examples/churn/data/baseline.csv"),
    ),
    (
        "monitor.yml",
        include_str!("../../../docs/examples/churn/monitor.yml"),
    ),
];

/// Arguments of `amlops demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder for the sample project and the workspace state (default: a new temporary folder).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The canary rolled out after the pipeline (canary analysis): `healthy` reaches 100%, `slow-canary` is
    /// rolled back by the analysis.
    #[arg(long, value_enum, default_value = "healthy")]
    pub variant: crate::canary_demo::Variant,
    /// Folder holding the task binaries (default: next to this executable; built with cargo when missing).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// Arguments of `amlops run-pipeline`.
#[derive(Debug, clap::Args)]
pub struct RunPipelineArgs {
    /// The azure-pipelines.yml to run.
    pub file: PathBuf,
    /// Repository root (System.DefaultWorkingDirectory); default: the pipeline file's folder.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Folder for the local workspace state.
    #[arg(long, default_value = ".amlops")]
    pub state: PathBuf,
    /// Folder holding the task binaries (default: next to this executable; built with cargo when missing).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

const BINARIES: &[&str] = &["amlops-train", "amlops-register", "amlops-deploy", "amlops-gate"];

/// Find the task binaries next to this executable, building them with cargo when run through `cargo run`.
fn locate_binaries(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this executable: {e}"))?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let missing: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(format!("{b}{}", std::env::consts::EXE_SUFFIX)).exists())
        .collect();
    if missing.is_empty() {
        return Ok(dir);
    }
    let env = amlops_agent::TaskEnv::from_process();
    let Some(cargo) = env.get_nonempty("CARGO") else {
        return Err(format!(
            "the task binaries {} are not next to {}; build them with `cargo build --release --bins` or pass --bin-dir",
            missing.join(", "),
            exe.display()
        ));
    };
    println!("Building the task binaries ({}) ...", missing.join(", "));
    let mut cmd = std::process::Command::new(cargo);
    cmd.arg("build");
    cmd.args(build_profile_args(&dir));
    for b in BINARIES {
        cmd.args(["-p", b]);
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err("building the task binaries failed (see above)".into());
    }
    Ok(dir)
}

/// The cargo arguments that build into `dir` (`<target>/<profile>`, where this executable was built): the
/// same profile and the same target folder, so the task binaries share every artifact already compiled
/// for this executable and only their own crates are left to build.
fn build_profile_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = Vec::new();
    if let Some(profile) = dir.file_name().and_then(|p| p.to_str()) {
        args.push("--profile".into());
        // cargo's `dev` and `test` profiles build into target/debug
        args.push(if profile == "debug" { "dev" } else { profile }.into());
    }
    if let Some(target) = dir.parent() {
        args.push("--target-dir".into());
        args.push(target.as_os_str().to_os_string());
    }
    args
}

fn write_sample(dir: &Path) -> Result<(), String> {
    for (rel, text) in SAMPLE_PROJECT {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn base_env() -> Vec<(String, String)> {
    let env = amlops_agent::TaskEnv::from_process();
    [
        "PATH",
        "HOME",
        "LANG",
        "SYSTEMROOT",
        "TEMP",
        "TMP",
        "SSL_CERT_FILE",
    ]
    .iter()
    .filter_map(|k| env.vars_exact(k).map(|v| (k.to_string(), v.to_string())))
    .collect()
}

async fn run_with_local_workspace(
    pipeline_text: &str,
    pipeline_path: &Path,
    root: &Path,
    state: &Path,
    bin_dir: PathBuf,
    monitor: bool,
    canary: Option<crate::canary_demo::Variant>,
) -> Result<bool, String> {
    let pipeline = parse_pipeline_text(pipeline_text, pipeline_path).map_err(|e| e.to_string())?;
    let mut config = LocalConfig::new(state);
    config.port = 0;
    let workspace = LocalWorkspace::start(config)
        .await
        .map_err(|e| format!("cannot start the local workspace: {e}"))?;
    let cfg = workspace.config().clone();
    println!(
        "Local workspace: {} (state in {})",
        workspace.base_url(),
        state.display()
    );
    let settings = RunSettings {
        bin_dir,
        root: root.to_path_buf(),
        arm_url: workspace.base_url().to_string(),
        subscription_id: cfg.subscription_id.clone(),
        workspace_override: Some((cfg.resource_group.clone(), cfg.workspace.clone())),
        extra_env: BTreeMap::new(),
        base_env: base_env(),
        access_token: Some(workspace.token().to_string()),
    };
    let mut result = run_pipeline(&pipeline, &settings)
        .await
        .map_err(|e| e.to_string());
    // The monitoring stage: a day of traffic through the deployed endpoint, then the drift and quality gate.
    if monitor
        && let Ok(reports) = &mut result
        && reports.iter().all(|r| r.result.starts_with("Succeeded"))
    {
        match crate::monitoring::run_stage(&workspace, &settings, root, reports, &Default::default()).await {
            Ok(more) => reports.extend(more),
            Err(e) => result = Err(format!("the monitoring stage: {e}")),
        }
    }
    if let Some(variant) = canary
        && let Ok(reports) = &mut result
        && reports.iter().all(|r| r.result.starts_with("Succeeded"))
    {
        match crate::canary_demo::run_stage(&workspace, &settings, root, reports, variant).await {
            Ok(more) => reports.extend(more),
            Err(e) => result = Err(format!("the canary stage: {e}")),
        }
    }
    let _ = workspace.shutdown().await;
    let reports = result?;
    println!("\n══ Summary");
    let mut ok = true;
    for (i, r) in reports.iter().enumerate() {
        println!("{:>2}. {:<45} {}", i + 1, r.title, r.result);
        for (k, v) in &r.outputs {
            println!("      {k} = {v}");
        }
        for e in &r.errors {
            println!("      error: {e}");
        }
        ok &= matches!(r.result.as_str(), "Succeeded" | "SucceededWithIssues" | "Skipped");
    }
    Ok(ok)
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

/// Run `amlops demo`.
pub fn run(args: DemoArgs) -> ExitCode {
    let outcome = (|| -> Result<bool, String> {
        let dir = match args.dir {
            Some(d) => d,
            // A private folder: the demo runs the code it writes there.
            None => amlops_agent::PipelineContext::private_temp_dir().join("demo"),
        };
        let project = dir.join("churn");
        write_sample(&project)?;
        println!("amlops demo: the sample churn project in {}", project.display());
        let bin_dir = locate_binaries(args.bin_dir)?;
        let pipeline_path = project.join("azure-pipelines.yml");
        let text = std::fs::read_to_string(&pipeline_path).map_err(|e| e.to_string())?;
        runtime()?.block_on(run_with_local_workspace(
            &text,
            &pipeline_path,
            &project,
            &dir.join("state"),
            bin_dir,
            true,
            Some(args.variant),
        ))
    })();
    finish(outcome)
}

/// Run `amlops run-pipeline`.
pub fn run_pipeline_command(args: RunPipelineArgs) -> ExitCode {
    let outcome = (|| -> Result<bool, String> {
        let text = std::fs::read_to_string(&args.file)
            .map_err(|e| format!("cannot read the pipeline file {}: {e}", args.file.display()))?;
        let root = args
            .root
            .clone()
            .or_else(|| args.file.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let bin_dir = locate_binaries(args.bin_dir)?;
        runtime()?.block_on(run_with_local_workspace(
            &text,
            &args.file,
            &root,
            &args.state,
            bin_dir,
            false,
            None,
        ))
    })();
    finish(outcome)
}

fn finish(outcome: Result<bool, String>) -> ExitCode {
    match outcome {
        Ok(true) => {
            println!("\nEvery amlops step succeeded.");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("\nA step failed (see above).");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(dir: &str) -> Vec<String> {
        build_profile_args(Path::new(dir))
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn task_binaries_build_with_the_profile_and_target_folder_of_this_executable() {
        assert_eq!(
            args("/repo/target/release"),
            ["--profile", "release", "--target-dir", "/repo/target"]
        );
        assert_eq!(args("/t/debug"), ["--profile", "dev", "--target-dir", "/t"]);
        assert_eq!(args("/t/perf"), ["--profile", "perf", "--target-dir", "/t"]);
    }
}
