//! Project automation for amlops (`cargo xtask ...`), and a reader of the task manifests for tests.
//!
//! - [`manifest`]: reads `task-manifests/<Task>V1/task.json` (+ `launcher.json`). Task crates can use
//!   [`manifest::task_by_binary`] in their tests to compare the declared inputs and output variables with
//!   what their binary reads and sets ([`manifest::TaskManifest::diff_inputs`], [`manifest::TaskManifest::diff_outputs`]).
//! - [`package`]: assembles the extension under `target/vsix/` and runs tfx-cli.
//! - [`vsix`]: lists a .vsix (a zip file) and checks that every task is in it with its files.
//! - [`docs`]: renders `docs/tasks/<task>.md` from task.json.
//! - [`png`]: writes the small PNG icons.

use std::path::{Path, PathBuf};

pub mod docs;
pub mod manifest;
pub mod package;
pub mod png;
pub mod vsix;
pub mod zip;

/// The repository root (the parent of this crate's folder).
pub fn repo_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| crate_dir.to_path_buf())
}

/// `task-manifests/` in the repository.
pub fn manifests_dir() -> PathBuf {
    repo_root().join("task-manifests")
}

/// Reads a file, naming it in the error.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, IoError> {
    std::fs::read(path).map_err(|source| IoError {
        path: path.to_path_buf(),
        source,
    })
}

/// An I/O error with the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct IoError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl IoError {
    pub(crate) fn new(path: &Path, source: std::io::Error) -> Self {
        Self {
            path: path.to_path_buf(),
            source,
        }
    }
}
