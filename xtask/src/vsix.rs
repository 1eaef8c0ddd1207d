//! Checks a .vsix: every contributed task is there with its files (`cargo xtask check-vsix`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::zip::{self, ZipEntry};

/// What the .vsix must hold for one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedTask {
    /// The folder inside the extension, e.g. `tasks/AzureMLTrainV1`.
    pub path: String,
    /// The binary's file name without `.exe`, e.g. `amlops-train`.
    pub binary: String,
}

/// One task found in the .vsix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskContents {
    pub path: String,
    /// platform folder (`linux-x64`, `win32-x64`, ...) -> binary size in bytes.
    pub binaries: BTreeMap<String, u64>,
    /// All files of the task folder: path relative to it -> size.
    pub files: BTreeMap<String, u64>,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VsixReport {
    pub entries: Vec<ZipEntry>,
    pub tasks: Vec<TaskContents>,
    /// Everything wrong; empty when the package is complete.
    pub problems: Vec<String>,
}

/// The files every task folder must hold besides its binaries.
pub const TASK_FILES: [&str; 4] = ["task.json", "launcher.js", "launcher.json", "icon.png"];

/// Checks the listing of a .vsix against the expected tasks; each task must have a binary for every
/// platform in `required_platforms` (e.g. `linux-x64`).
pub fn check_entries(
    entries: Vec<ZipEntry>,
    expected: &[ExpectedTask],
    required_platforms: &[String],
) -> VsixReport {
    let mut problems = Vec::new();
    if !entries.iter().any(|e| e.name == "extension.vsixmanifest") {
        problems.push("extension.vsixmanifest is missing".to_string());
    }
    let mut tasks = Vec::new();
    for task in expected {
        let prefix = format!("{}/", task.path.trim_end_matches('/'));
        let files: BTreeMap<String, u64> = entries
            .iter()
            .filter_map(|e| {
                e.name
                    .strip_prefix(&prefix)
                    .map(|rest| (rest.to_string(), e.size))
            })
            .filter(|(rest, _)| !rest.is_empty() && !rest.ends_with('/'))
            .collect();
        for required in TASK_FILES {
            match files.get(required) {
                None => problems.push(format!("{}: {required} is missing", task.path)),
                Some(0) => problems.push(format!("{}: {required} is empty", task.path)),
                Some(_) => {}
            }
        }
        let mut binaries = BTreeMap::new();
        for (rest, size) in &files {
            let mut parts = rest.split('/');
            if let (Some("bin"), Some(platform), Some(file), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            {
                if file == task.binary || file.strip_suffix(".exe") == Some(task.binary.as_str()) {
                    if *size == 0 {
                        problems.push(format!("{}: bin/{platform}/{file} is empty", task.path));
                    }
                    binaries.insert(platform.to_string(), *size);
                } else {
                    problems.push(format!("{}: unexpected file bin/{platform}/{file}", task.path));
                }
            }
        }
        for platform in required_platforms {
            if !binaries.contains_key(platform) {
                problems.push(format!("{}: no {} binary for {platform}", task.path, task.binary));
            }
        }
        if binaries.is_empty() && required_platforms.is_empty() {
            problems.push(format!(
                "{}: no {} binary for any platform",
                task.path, task.binary
            ));
        }
        tasks.push(TaskContents {
            path: task.path.clone(),
            binaries,
            files,
        });
    }
    VsixReport {
        entries,
        tasks,
        problems,
    }
}

/// Reads and checks a .vsix file.
pub fn check_file(
    vsix: &Path,
    expected: &[ExpectedTask],
    required_platforms: &[String],
) -> Result<VsixReport, String> {
    let bytes = crate::read_file(vsix).map_err(|e| e.to_string())?;
    let entries = zip::list(&bytes).map_err(|e| format!("{}: {e}", vsix.display()))?;
    Ok(check_entries(entries, expected, required_platforms))
}
