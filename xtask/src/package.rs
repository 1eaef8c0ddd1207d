//! Assembling the extension (`cargo xtask package`).
//!
//! Layout produced under `target/vsix/`:
//!
//! ```text
//! stage/vss-extension.json            publisher and version as requested
//! stage/overview.md, stage/images/    Marketplace page and extension icon
//! stage/tasks/<Folder>/task.json      + launcher.js, launcher.json, icon.png
//! stage/tasks/<Folder>/bin/<platform>/<binary>[.exe]
//! .tools/                             tfx-cli, installed with npm
//! <publisher>.<id>-<version>.vsix
//! ```
//!
//! Platforms are Node's `<process.platform>-<process.arch>` (`linux-x64`, `linux-arm64`, `win32-x64`,
//! `darwin-x64`, `darwin-arm64`), plus `linux-x64-musl` for the static build. A `--prebuilt DIR` holds the
//! same layout: `DIR/<platform>/<binary>[.exe]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::IoError;
use crate::manifest::{self, ManifestError, TaskManifest};
use crate::vsix::ExpectedTask;

/// The tfx-cli version installed by `cargo xtask package`.
pub const TFX_VERSION: &str = "0.23.1";

/// A packaging failure, with what to fix.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{}: {message}", path.display())]
    Extension { path: PathBuf, message: String },
    #[error("invalid {what} {value:?}: {reason}")]
    Setting {
        what: &'static str,
        value: String,
        reason: String,
    },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
}

/// Values set at packaging time.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Marketplace publisher id (default: the one in `vss-extension.json`).
    pub publisher: Option<String>,
    /// Extension version `X.Y.Z`; the tasks become `Major.Y.Z` (X must equal the tasks' Major).
    pub version: Option<String>,
    /// Written as `glibcMin` into `launcher.json`: older glibc systems use the musl build.
    pub glibc_min: Option<String>,
}

/// binary name -> platform -> file.
pub type Binaries = BTreeMap<String, BTreeMap<String, PathBuf>>;

/// What [`assemble`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssembleReport {
    pub extension_id: String,
    pub publisher: String,
    pub version: String,
    /// (task folder inside the extension, platforms with a binary)
    pub tasks: Vec<(String, Vec<String>)>,
    /// Tasks for which no binary was given at all.
    pub missing: Vec<String>,
}

impl AssembleReport {
    /// The .vsix file name tfx gives: `<publisher>.<id>-<version>.vsix`.
    pub fn vsix_name(&self) -> String {
        format!("{}.{}-{}.vsix", self.publisher, self.extension_id, self.version)
    }
}

/// Node's platform folder name for the machine this program was built for, e.g. `linux-x64`.
pub fn host_platform() -> Option<String> {
    let os = match std::env::consts::OS {
        "linux" => "linux",
        "macos" => "darwin",
        "windows" => "win32",
        _ => return None,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        _ => return None,
    };
    let musl = if cfg!(target_env = "musl") { "-musl" } else { "" };
    Some(format!("{os}-{arch}{musl}"))
}

/// The file name of `binary` on `platform` (`.exe` on Windows).
pub fn binary_file_name(binary: &str, platform: &str) -> String {
    if platform.starts_with("win32-") {
        format!("{binary}.exe")
    } else {
        binary.to_string()
    }
}

fn is_valid_platform(p: &str) -> bool {
    let mut parts = p.split('-');
    let os = parts.next().unwrap_or_default();
    let arch = parts.next().unwrap_or_default();
    let libc = parts.next();
    ["linux", "darwin", "win32"].contains(&os)
        && ["x64", "arm64"].contains(&arch)
        && (libc.is_none() || (os == "linux" && libc == Some("musl")))
        && parts.next().is_none()
}

/// Reads `vss-extension.json` from the manifests folder.
pub fn read_extension(manifests_dir: &Path) -> Result<Value, PackageError> {
    let path = manifests_dir.join("vss-extension.json");
    let bytes = crate::read_file(&path)?;
    serde_json::from_slice(&bytes).map_err(|e| PackageError::Extension {
        path,
        message: format!("invalid JSON: {e}"),
    })
}

/// The task folders the extension contributes (`properties.name`, e.g. `tasks/AzureMLTrainV1`).
pub fn contributed_task_paths(extension: &Value) -> Vec<String> {
    extension["contributions"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter(|c| c["type"] == "ms.vss-distributed-task.task")
                .filter_map(|c| c["properties"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn folder_of(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path)
}

/// The tasks the .vsix must contain: the extension's contributions with their binaries' names.
pub fn expected_tasks(manifests_dir: &Path) -> Result<Vec<ExpectedTask>, PackageError> {
    let extension = read_extension(manifests_dir)?;
    contributed_task_paths(&extension)
        .into_iter()
        .map(|path| {
            let task = manifest::load_task_dir(&manifests_dir.join(folder_of(&path)))?;
            Ok(ExpectedTask {
                path,
                binary: task.binary,
            })
        })
        .collect()
}

/// Finds `DIR/<platform>/<binary>[.exe]` for the given binaries.
pub fn find_prebuilt(dir: &Path, binaries: &[String]) -> Result<Binaries, PackageError> {
    let mut found = Binaries::new();
    let entries = std::fs::read_dir(dir).map_err(|e| IoError::new(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| IoError::new(dir, e))?;
        let platform = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() {
            continue;
        }
        if !is_valid_platform(&platform) {
            return Err(PackageError::Setting {
                what: "prebuilt platform folder",
                value: entry.path().display().to_string(),
                reason: "expected <linux|darwin|win32>-<x64|arm64>[-musl]".into(),
            });
        }
        for binary in binaries {
            let file = entry.path().join(binary_file_name(binary, &platform));
            if file.is_file() {
                found
                    .entry(binary.clone())
                    .or_default()
                    .insert(platform.clone(), file);
            }
        }
    }
    Ok(found)
}

fn check_version(version: &str) -> Result<(u64, u64, u64), PackageError> {
    let bad = |reason: &str| PackageError::Setting {
        what: "version",
        value: version.into(),
        reason: reason.into(),
    };
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() != 3 {
        return Err(bad("expected X.Y.Z"));
    }
    let n = |s: &str| {
        s.parse::<u64>()
            .map_err(|_| bad("each part must be a whole number"))
    };
    Ok((n(parts[0])?, n(parts[1])?, n(parts[2])?))
}

fn check_publisher(publisher: &str) -> Result<(), PackageError> {
    let ok = publisher
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && publisher
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(PackageError::Setting {
            what: "publisher",
            value: publisher.into(),
            reason: "use letters, digits, '-' and '_' (the Marketplace publisher id)".into(),
        })
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| IoError::new(parent, e))?;
    }
    std::fs::write(path, bytes).map_err(|e| IoError::new(path, e))
}

fn write_json(path: &Path, value: &Value) -> Result<(), IoError> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    write(path, text.as_bytes())
}

fn copy_file(from: &Path, to: &Path) -> Result<(), IoError> {
    let bytes = crate::read_file(from)?;
    write(to, &bytes)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), IoError> {
    let entries = std::fs::read_dir(from).map_err(|e| IoError::new(from, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| IoError::new(from, e))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            copy_file(&path, &target)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), IoError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|e| IoError::new(path, e))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), IoError> {
    Ok(())
}

/// Assembles the extension into `stage` (emptied first) from `manifests_dir` and the binaries.
pub fn assemble(
    manifests_dir: &Path,
    stage: &Path,
    settings: &Settings,
    binaries: &Binaries,
) -> Result<AssembleReport, PackageError> {
    let ext_path = manifests_dir.join("vss-extension.json");
    let mut extension = read_extension(manifests_dir)?;
    let ext_err = |message: String| PackageError::Extension {
        path: ext_path.clone(),
        message,
    };

    let new_version = settings.version.as_deref().map(check_version).transpose()?;
    if let Some(publisher) = &settings.publisher {
        check_publisher(publisher)?;
        extension["publisher"] = Value::String(publisher.clone());
    }
    if let Some(version) = &settings.version {
        extension["version"] = Value::String(version.clone());
    }
    let field = |v: &Value, k: &str| v[k].as_str().map(str::to_string);
    let publisher = field(&extension, "publisher").ok_or_else(|| ext_err("no publisher".into()))?;
    let extension_id = field(&extension, "id").ok_or_else(|| ext_err("no id".into()))?;
    let version = field(&extension, "version").ok_or_else(|| ext_err("no version".into()))?;

    let tasks = manifest::load_all(manifests_dir)?;
    let contributed = contributed_task_paths(&extension);
    for path in &contributed {
        if !tasks.iter().any(|t| t.folder == folder_of(path)) {
            return Err(ext_err(format!(
                "contribution {path} has no task folder {}",
                folder_of(path)
            )));
        }
    }
    for task in &tasks {
        if !contributed.iter().any(|p| folder_of(p) == task.folder) {
            return Err(ext_err(format!("task folder {} is not contributed", task.folder)));
        }
    }

    if stage.exists() {
        std::fs::remove_dir_all(stage).map_err(|e| IoError::new(stage, e))?;
    }
    write_json(&stage.join("vss-extension.json"), &extension)?;
    copy_file(&manifests_dir.join("overview.md"), &stage.join("overview.md"))?;
    copy_dir(&manifests_dir.join("images"), &stage.join("images"))?;

    let launcher = manifests_dir.join("launcher.js");
    let mut report_tasks = Vec::new();
    let mut missing = Vec::new();
    for path in &contributed {
        let task = tasks
            .iter()
            .find(|t| t.folder == folder_of(path))
            .ok_or_else(|| ext_err(path.clone()))?;
        let out = stage.join(path);
        stage_task(task, &out, new_version, settings)?;
        copy_file(&launcher, &out.join("launcher.js"))?;
        let mut platforms = Vec::new();
        for (platform, file) in binaries.get(&task.binary).into_iter().flatten() {
            let target = out
                .join("bin")
                .join(platform)
                .join(binary_file_name(&task.binary, platform));
            copy_file(file, &target)?;
            make_executable(&target)?;
            platforms.push(platform.clone());
        }
        if platforms.is_empty() {
            missing.push(path.clone());
        }
        report_tasks.push((path.clone(), platforms));
    }

    // Everything the manifest points at must now exist in the stage.
    let mut referenced: Vec<String> = extension["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str().map(str::to_string))
        .collect();
    for key in ["icons", "content"] {
        if let Some(map) = extension[key].as_object() {
            for v in map.values() {
                if let Some(p) = v.as_str().or_else(|| v["path"].as_str()) {
                    referenced.push(p.to_string());
                }
            }
        }
    }
    for p in referenced {
        if !stage.join(&p).exists() {
            return Err(ext_err(format!("{p} is referenced but not in the package")));
        }
    }

    Ok(AssembleReport {
        extension_id,
        publisher,
        version,
        tasks: report_tasks,
        missing,
    })
}

fn stage_task(
    task: &TaskManifest,
    out: &Path,
    new_version: Option<(u64, u64, u64)>,
    settings: &Settings,
) -> Result<(), PackageError> {
    let task_json = task.dir.join("task.json");
    match new_version {
        Some((major, minor, patch)) => {
            if major != task.version.0 {
                return Err(PackageError::Setting {
                    what: "version",
                    value: format!("{major}.{minor}.{patch}"),
                    reason: format!(
                        "the major version must be the tasks' ({} in {})",
                        task.version.0,
                        task_json.display()
                    ),
                });
            }
            let mut json = task.json.clone();
            json["version"] = serde_json::json!({"Major": major, "Minor": minor, "Patch": patch});
            write_json(&out.join("task.json"), &json)?;
        }
        None => copy_file(&task_json, &out.join("task.json"))?,
    }
    let mut launcher = serde_json::json!({ "binary": task.binary });
    if let Some(glibc) = &settings.glibc_min {
        launcher["glibcMin"] = Value::String(glibc.clone());
    }
    write_json(&out.join("launcher.json"), &launcher)?;
    copy_file(&task.dir.join("icon.png"), &out.join("icon.png"))?;
    Ok(())
}

fn run(command: &mut Command) -> Result<String, PackageError> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| PackageError::Command {
        command: shown.clone(),
        message: e.to_string(),
    })?;
    if !output.status.success() {
        let mut message = format!("exit status {}", output.status);
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            for line in tail.into_iter().rev() {
                message.push('\n');
                message.push_str(line);
            }
        }
        return Err(PackageError::Command {
            command: shown,
            message,
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The workspace's binary targets (binary name -> package name) and the target directory, from
/// `cargo metadata`.
pub fn workspace_bins(repo_root: &Path) -> Result<(BTreeMap<String, String>, PathBuf), PackageError> {
    let out = run(Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(repo_root))?;
    let meta: Value = serde_json::from_str(&out).map_err(|e| PackageError::Command {
        command: "cargo metadata".into(),
        message: e.to_string(),
    })?;
    let mut bins = BTreeMap::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let pkg = package["name"].as_str().unwrap_or_default();
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == "bin"));
            if let (true, Some(name)) = (is_bin, target["name"].as_str()) {
                bins.insert(name.to_string(), pkg.to_string());
            }
        }
    }
    let target_dir = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    Ok((bins, target_dir))
}

/// Builds the binaries with the `dist` profile; returns binary -> file.
pub fn build_dist(
    repo_root: &Path,
    target_dir: &Path,
    bins: &[(String, String)],
) -> Result<BTreeMap<String, PathBuf>, PackageError> {
    if bins.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut cmd = Command::new("cargo");
    cmd.args(["build", "--profile", "dist"]).current_dir(repo_root);
    for (package, bin) in bins {
        cmd.args(["-p", package, "--bin", bin]);
    }
    let status = cmd.status().map_err(|e| PackageError::Command {
        command: format!("{cmd:?}"),
        message: e.to_string(),
    })?;
    if !status.success() {
        return Err(PackageError::Command {
            command: format!("{cmd:?}"),
            message: format!("exit status {status}"),
        });
    }
    let exe = std::env::consts::EXE_SUFFIX;
    Ok(bins
        .iter()
        .map(|(_, bin)| (bin.clone(), target_dir.join("dist").join(format!("{bin}{exe}"))))
        .collect())
}

/// Installs tfx-cli into `tools` with npm (once) and returns the path of its `tfx` command.
pub fn ensure_tfx(tools: &Path) -> Result<PathBuf, PackageError> {
    let tfx = tools
        .join("node_modules")
        .join(".bin")
        .join(if cfg!(windows) { "tfx.cmd" } else { "tfx" });
    if tfx.is_file() {
        return Ok(tfx);
    }
    std::fs::create_dir_all(tools).map_err(|e| IoError::new(tools, e))?;
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    run(Command::new(npm).arg("install").arg("--prefix").arg(tools).args([
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        &format!("tfx-cli@{TFX_VERSION}"),
    ]))?;
    if tfx.is_file() {
        Ok(tfx)
    } else {
        Err(PackageError::Command {
            command: "npm install tfx-cli".into(),
            message: format!("{} was not installed", tfx.display()),
        })
    }
}

/// Runs `tfx extension create` on the stage; writes `out_file`.
pub fn run_tfx(tfx: &Path, stage: &Path, out_file: &Path) -> Result<(), PackageError> {
    run(Command::new(tfx)
        .args(["extension", "create", "--root"])
        .arg(stage)
        .args(["--manifest-globs", "vss-extension.json", "--output-path"])
        .arg(out_file)
        .arg("--no-prompt"))?;
    if out_file.is_file() {
        Ok(())
    } else {
        Err(PackageError::Command {
            command: "tfx extension create".into(),
            message: format!("{} was not written", out_file.display()),
        })
    }
}
