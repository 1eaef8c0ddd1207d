//! `cargo xtask <command>`: see `cargo xtask --help`.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool prints its results

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::package::{self, Binaries, Settings};
use xtask::{docs, manifest, png, vsix};

/// Project automation for amlops.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the task binaries (dist profile), assemble the tasks and create the .vsix in target/vsix/.
    Package {
        /// Marketplace publisher id (default: the one in task-manifests/vss-extension.json).
        #[arg(long)]
        publisher: Option<String>,
        /// Extension version X.Y.Z; the tasks get Minor=Y and Patch=Z.
        #[arg(long)]
        version: Option<String>,
        /// Folder of prebuilt binaries: DIR/<platform>/<binary>[.exe], platform e.g. win32-x64.
        #[arg(long)]
        prebuilt: Option<PathBuf>,
        /// Do not build: use only --prebuilt binaries.
        #[arg(long)]
        no_build: bool,
        /// Package even if some task has no binary at all (its launcher then reports it at run time).
        #[arg(long)]
        allow_missing: bool,
        /// Oldest glibc the linux binaries run on; older systems use the -musl build.
        #[arg(long)]
        glibc_min: Option<String>,
        /// Platforms every task must have a binary for (default: the host's when building).
        #[arg(long = "require-platform")]
        require_platforms: Vec<String>,
        /// Assemble target/vsix/stage only; do not install or run tfx-cli.
        #[arg(long)]
        skip_tfx: bool,
        /// Build only these binaries (e.g. amlops-train); the others come from --prebuilt or are missing.
        #[arg(long = "only")]
        only: Vec<String>,
    },
    /// Regenerate docs/tasks/<task>.md from the task manifests.
    Docs {
        /// Only check that the pages are up to date.
        #[arg(long)]
        check: bool,
    },
    /// List a .vsix and check that every task is in it with its files.
    CheckVsix {
        file: PathBuf,
        /// Platforms every task must have a binary for (default: linux-x64).
        #[arg(long = "platform")]
        platforms: Vec<String>,
    },
    /// Regenerate the task icons (32x32) and the extension icon (128x128).
    Icons,
    /// Run every test: `node --test task-manifests/test/*.test.js`, then `cargo test --workspace --locked`.
    Test {
        /// Extra arguments for `cargo test`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Package {
            publisher,
            version,
            prebuilt,
            no_build,
            allow_missing,
            glibc_min,
            require_platforms,
            skip_tfx,
            only,
        } => cmd_package(
            Settings {
                publisher,
                version,
                glibc_min,
            },
            prebuilt,
            if no_build {
                Build::None
            } else {
                Build::Host { only }
            },
            allow_missing,
            require_platforms,
            skip_tfx,
        ),
        Cmd::Docs { check } => cmd_docs(check),
        Cmd::CheckVsix { file, platforms } => {
            let platforms = if platforms.is_empty() {
                vec!["linux-x64".to_string()]
            } else {
                platforms
            };
            cmd_check(&file, &platforms)
        }
        Cmd::Icons => cmd_icons(),
        Cmd::Test { args } => cmd_test(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What to build on this machine.
enum Build {
    None,
    /// The host's binaries; all of them when `only` is empty.
    Host {
        only: Vec<String>,
    },
}

fn cmd_package(
    settings: Settings,
    prebuilt: Option<PathBuf>,
    build: Build,
    allow_missing: bool,
    mut require_platforms: Vec<String>,
    skip_tfx: bool,
) -> Result<(), String> {
    let root = xtask::repo_root();
    let manifests = xtask::manifests_dir();
    let tasks = manifest::load_all(&manifests).map_err(|e| e.to_string())?;
    let names: Vec<String> = tasks.iter().map(|t| t.binary.clone()).collect();
    let (bins, target_dir) = package::workspace_bins(&root).map_err(|e| e.to_string())?;

    let mut binaries = Binaries::new();
    if let Build::Host { only } = build {
        let host = package::host_platform().ok_or("this host's platform has no Node name")?;
        if let Some(unknown) = only.iter().find(|b| !names.contains(b)) {
            return Err(format!(
                "--only {unknown}: not a task binary (one of {})",
                names.join(", ")
            ));
        }
        let wanted = names.iter().filter(|b| only.is_empty() || only.contains(b));
        let (present, absent): (Vec<&String>, Vec<&String>) = wanted.partition(|b| bins.contains_key(*b));
        for b in &absent {
            eprintln!("warning: the workspace has no binary target {b} yet: not built");
        }
        let to_build: Vec<(String, String)> =
            present.iter().map(|b| (bins[*b].clone(), (*b).clone())).collect();
        for (bin, file) in package::build_dist(&root, &target_dir, &to_build).map_err(|e| e.to_string())? {
            binaries.entry(bin).or_default().insert(host.clone(), file);
        }
        if require_platforms.is_empty() && !allow_missing {
            require_platforms.push(host);
        }
    }
    if let Some(dir) = &prebuilt {
        for (bin, platforms) in package::find_prebuilt(dir, &names).map_err(|e| e.to_string())? {
            binaries.entry(bin).or_default().extend(platforms);
        }
    }
    println!("Binaries:");
    for (bin, platforms) in &binaries {
        for (platform, file) in platforms {
            println!(
                "  {bin:<18} {platform:<15} {:>12}  {}",
                size(file_size(file)),
                file.display()
            );
        }
    }

    let out = target_dir.join("vsix");
    let stage = out.join("stage");
    let report = package::assemble(&manifests, &stage, &settings, &binaries).map_err(|e| e.to_string())?;
    if !report.missing.is_empty() {
        let list = report.missing.join(", ");
        if allow_missing {
            eprintln!("warning: no binary at all for {list}: packaged anyway (--allow-missing)");
        } else {
            return Err(format!(
                "no binary at all for {list} (use --prebuilt DIR, or --allow-missing)"
            ));
        }
    }
    println!("Assembled {} tasks in {}", report.tasks.len(), stage.display());
    if skip_tfx {
        return Ok(());
    }

    let tfx = package::ensure_tfx(&out.join(".tools")).map_err(|e| e.to_string())?;
    let vsix_file = out.join(report.vsix_name());
    package::run_tfx(&tfx, &stage, &vsix_file).map_err(|e| e.to_string())?;
    println!(
        "Created {} ({})",
        vsix_file.display(),
        size(file_size(&vsix_file))
    );

    let expected = package::expected_tasks(&manifests).map_err(|e| e.to_string())?;
    let checked = vsix::check_file(&vsix_file, &expected, &require_platforms)?;
    print_report(&checked);
    if checked.problems.is_empty() || (allow_missing && require_platforms.is_empty()) {
        Ok(())
    } else {
        Err(format!(
            "{} problem(s) in {}",
            checked.problems.len(),
            vsix_file.display()
        ))
    }
}

fn print_report(report: &vsix::VsixReport) {
    println!("{} entries", report.entries.len());
    for task in &report.tasks {
        println!("  {}", task.path);
        for (file, bytes) in &task.files {
            println!("    {file:<40} {:>12}", size(*bytes));
        }
    }
    for problem in &report.problems {
        println!("problem: {problem}");
    }
}

fn cmd_check(file: &std::path::Path, platforms: &[String]) -> Result<(), String> {
    let expected = package::expected_tasks(&xtask::manifests_dir()).map_err(|e| e.to_string())?;
    let report = vsix::check_file(file, &expected, platforms)?;
    print_report(&report);
    if report.problems.is_empty() {
        println!("OK: {} tasks with their files", report.tasks.len());
        Ok(())
    } else {
        Err(format!(
            "{} problem(s) in {}",
            report.problems.len(),
            file.display()
        ))
    }
}

fn cmd_docs(check: bool) -> Result<(), String> {
    let tasks = manifest::repo_tasks().map_err(|e| e.to_string())?;
    let dir = docs::docs_dir();
    if check {
        let stale = docs::stale(&tasks, &dir);
        if stale.is_empty() {
            println!("docs/tasks is up to date");
            return Ok(());
        }
        let list: Vec<String> = stale.iter().map(|p| p.display().to_string()).collect();
        return Err(format!("stale: {} (run `cargo xtask docs`)", list.join(", ")));
    }
    for path in docs::write_all(&tasks, &dir).map_err(|e| e.to_string())? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn cmd_icons() -> Result<(), String> {
    let manifests = xtask::manifests_dir();
    let tasks = manifest::load_all(&manifests).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for task in &tasks {
        let bytes = png::task_icon(&task.folder).ok_or(format!("no icon design for {}", task.folder))?;
        files.push((task.dir.join("icon.png"), bytes));
    }
    files.push((
        manifests.join("images").join("extension-icon.png"),
        png::extension_icon(),
    ));
    for (path, bytes) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        println!("wrote {} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

fn cmd_test(args: &[String]) -> Result<(), String> {
    let root = xtask::repo_root();
    let mut failed = Vec::new();
    // Explicit files: Node 20 and 22+ read a directory argument differently.
    let test_dir = xtask::manifests_dir().join("test");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&test_dir)
        .map_err(|e| format!("{}: {e}", test_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.js"))
        .collect();
    files.sort();
    let node = std::process::Command::new("node")
        .arg("--test")
        .args(&files)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !node.success() {
        failed.push("node --test task-manifests/test/*.test.js");
    }
    let cargo = std::process::Command::new("cargo")
        .args(["test", "--workspace", "--locked"])
        .args(args)
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !cargo.success() {
        failed.push("cargo test --workspace --locked");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}
