//! Resolution of data, model and code references to places in the local blob store or on disk, and their
//! materialisation into a folder.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::app::App;
use crate::blob::DEFAULT_CONTAINER;
use crate::store::kind;

/// Where referenced content lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// Blobs of a container: one blob named `path`, or all blobs under `path/`.
    Blob { container: String, path: String },
    /// A file or folder on this machine.
    Local(PathBuf),
}

fn datastore_container(name: &str) -> Result<&'static str, String> {
    if name == "workspaceblobstore" || name == "workspaceartifactstore" {
        Ok(DEFAULT_CONTAINER)
    } else {
        Err(format!(
            "datastore '{name}' does not exist in the local workspace (only 'workspaceblobstore')"
        ))
    }
}

/// The default location of a job output.
pub(crate) fn job_output_uri(job: &str, output: &str) -> String {
    format!("azureml://datastores/workspaceblobstore/paths/azureml/{job}/{output}/")
}

/// Parses `…/{coll}/{name}/versions/{version}` out of an ARM id or `azureml:` reference.
pub(crate) fn parse_asset_id(s: &str, coll: &str) -> Option<(String, String)> {
    let needle = format!("/{coll}/");
    let lower = s.to_ascii_lowercase();
    let i = lower.rfind(&needle)?;
    let rest = &s[i + needle.len()..];
    let mut parts = rest.split('/');
    let name = parts.next()?;
    if !parts.next()?.eq_ignore_ascii_case("versions") {
        return None;
    }
    let version = parts.next()?;
    Some((name.to_owned(), version.to_owned()))
}

/// Resolves an asset reference (`azureml:name:version`, `azureml:name@latest`, ARM id) to its stored version.
pub(crate) fn asset_version(app: &App, reference: &str, coll: &str) -> Result<Value, String> {
    let (name, version) = if let Some(nv) = parse_asset_id(reference, coll) {
        nv
    } else if let Some(short) = reference.strip_prefix("azureml:").filter(|s| !s.starts_with('/')) {
        if let Some((n, v)) = short.split_once(':') {
            (n.to_owned(), v.to_owned())
        } else if let Some(n) = short.strip_suffix("@latest") {
            let v = crate::arm::latest_version(app, coll, n)
                .ok_or_else(|| format!("{coll} '{n}' has no version"))?;
            (n.to_owned(), v["name"].as_str().unwrap_or_default().to_owned())
        } else {
            return Err(format!(
                "'{reference}' is not a {coll} reference (expected azureml:<name>:<version>)"
            ));
        }
    } else {
        return Err(format!("'{reference}' is not a {coll} reference"));
    };
    crate::arm::get_asset_version(app, coll, &name, &version)
        .ok_or_else(|| format!("{coll} version '{name}:{version}' does not exist in the local workspace"))
}

/// Resolves a URI as Azure ML jobs and deployments accept it.
pub(crate) fn resolve(app: &App, uri: &str, depth: usize) -> Result<Location, String> {
    if depth > 8 {
        return Err(format!("'{uri}': too many nested references"));
    }
    let uri = uri.trim();
    if let Some(rest) = uri.strip_prefix("azureml://") {
        let lower = rest.to_ascii_lowercase();
        if let Some(jobs) = rest.strip_prefix("jobs/") {
            // azureml://jobs/{job}/outputs/{k}[/paths/{sub}]
            let mut it = jobs.splitn(4, '/');
            let job = it.next().unwrap_or_default();
            let outputs = it.next().unwrap_or_default();
            let output = it.next().unwrap_or_default();
            if outputs != "outputs" || output.is_empty() {
                return Err(format!(
                    "'{uri}' is not of the form azureml://jobs/<job>/outputs/<name>[/paths/<path>]"
                ));
            }
            let sub = it
                .next()
                .map(|s| s.strip_prefix("paths/").unwrap_or(s))
                .unwrap_or("");
            let rec = app
                .store
                .get(kind::JOBS, job)
                .ok_or_else(|| format!("'{uri}': job '{job}' does not exist"))?;
            let out_uri = rec["properties"]["outputs"][output]["uri"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| job_output_uri(job, output));
            return match resolve(app, &out_uri, depth + 1)? {
                Location::Blob { container, path } => Ok(Location::Blob {
                    container,
                    path: join(&path, sub),
                }),
                Location::Local(p) => Ok(Location::Local(if sub.is_empty() { p } else { p.join(sub) })),
            };
        }
        if let Some(i) = lower.find("datastores/") {
            let after = &rest[i + "datastores/".len()..];
            let (ds, path) = after.split_once('/').unwrap_or((after, ""));
            let path = path
                .strip_prefix("paths/")
                .or_else(|| (path == "paths").then_some(""))
                .unwrap_or(path);
            return Ok(Location::Blob {
                container: datastore_container(ds)?.to_owned(),
                path: path.to_owned(),
            });
        }
        return Err(format!(
            "'{uri}' is not a datastore or job-output URI the local workspace knows"
        ));
    }
    if uri.starts_with("azureml:") || uri.to_ascii_lowercase().starts_with("/subscriptions/") {
        for (coll, field) in [("data", "dataUri"), ("models", "modelUri")] {
            if parse_asset_id(uri, coll).is_some() {
                let v = asset_version(app, uri, coll)?;
                let inner = v["properties"][field].as_str().unwrap_or_default().to_owned();
                return resolve(app, &inner, depth + 1);
            }
        }
        let v = asset_version(app, uri, "data")?;
        let inner = v["properties"]["dataUri"].as_str().unwrap_or_default().to_owned();
        return resolve(app, &inner, depth + 1);
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let no_query = uri.split(['?', '#']).next().unwrap_or(uri);
        let after_scheme = no_query.split_once("://").map(|(_, r)| r).unwrap_or_default();
        let path = after_scheme.split_once('/').map(|(_, p)| p).unwrap_or_default();
        if let Some(rest) = path.strip_prefix(&format!("{}/", crate::blob::ACCOUNT)) {
            let (container, blob) = rest.split_once('/').unwrap_or((rest, ""));
            return Ok(Location::Blob {
                container: crate::util::decode(container),
                path: crate::util::decode(blob),
            });
        }
        return Err(format!(
            "'{uri}' is outside the local workspace: use its blob store, a datastore URI or a local path"
        ));
    }
    if let Some(p) = uri.strip_prefix("file://") {
        return confine(app, uri, Path::new(p)).map(Location::Local);
    }
    let p = Path::new(uri);
    if p.is_absolute() {
        return confine(app, uri, p).map(Location::Local);
    }
    Err(format!(
        "'{uri}' is not a URI the local workspace can resolve (relative paths must be uploaded first)"
    ))
}

/// A local path a job or deployment names, confined to the state directory and the configured
/// [`crate::LocalConfig::allowed_dirs`]: no `..`, and the path with its links resolved (as far as it exists) must
/// lie inside one of them. Returns that resolved path, so a link swapped in later cannot lead elsewhere.
pub(crate) fn confine(app: &App, uri: &str, path: &Path) -> Result<PathBuf, String> {
    use std::path::Component;
    let refuse = |why: &str| {
        format!(
            "'{uri}' {why}: the local workspace reads and writes local paths only inside its state folder ({}){}; \
             upload the data (a datastore URI) or start the workspace with the folder allowed (--allow-dir)",
            app.cfg.state_dir.display(),
            if app.cfg.allowed_dirs.is_empty() {
                String::new()
            } else {
                format!(
                    " and {}",
                    app.cfg
                        .allowed_dirs
                        .iter()
                        .map(|d| d.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )
    };
    if !path.is_absolute() {
        return Err(refuse("is not an absolute path"));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(refuse("contains '..'"));
    }
    // The longest part that exists, with its links resolved, then the rest as written.
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    let resolved = loop {
        if let Ok(c) = existing.canonicalize() {
            break rest.iter().rev().fold(c, |acc: PathBuf, part| acc.join(part));
        }
        match (
            existing.file_name().map(std::ffi::OsStr::to_os_string),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return Err(refuse("cannot be resolved")),
        }
    };
    let inside = std::iter::once(&app.cfg.state_dir)
        .chain(app.cfg.allowed_dirs.iter())
        .filter_map(|root| root.canonicalize().ok())
        .any(|root| resolved.starts_with(root));
    if inside {
        Ok(resolved)
    } else {
        Err(refuse("is outside the folders the local workspace may use"))
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.trim_end_matches('/'), b.trim_start_matches('/')) {
        ("", b) => b.to_owned(),
        (a, "") => format!("{a}/"),
        (a, b) => format!("{a}/{b}"),
    }
}

fn base_name(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("data")
        .to_owned()
}

/// Places the file or folder at `loc` inside `parent`, named after its last path segment; returns its path.
pub(crate) fn materialise(app: &App, loc: &Location, parent: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    match loc {
        Location::Blob { container, path } => {
            let name = base_name(path);
            let is_file =
                !path.is_empty() && !path.ends_with('/') && app.blobs.props(container, path).is_some();
            let dest = if is_file {
                parent.to_path_buf()
            } else {
                parent.join(&name)
            };
            match app
                .blobs
                .download(container, path, &dest)
                .map_err(|e| e.to_string())?
            {
                Some(p) => Ok(p),
                None => Err(format!(
                    "no data at '{path}' in container '{container}' of the local blob store"
                )),
            }
        }
        Location::Local(src) => {
            let name = src
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "data".to_owned());
            let dest = parent.join(name);
            if src.is_file() {
                std::fs::copy(src, &dest).map_err(|e| format!("cannot copy {}: {e}", src.display()))?;
            } else if src.is_dir() {
                copy_dir(src, &dest)?;
            } else {
                return Err(format!("{} does not exist", src.display()));
            }
            Ok(dest)
        }
    }
}

/// Copies a folder recursively.
pub(crate) fn copy_dir(src: &Path, dest: &Path) -> Result<(), String> {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", src.display()))?;
        let rel = entry.path().strip_prefix(src).unwrap_or(entry.path());
        let target = dest.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| format!("cannot create {}: {e}", target.display()))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| format!("cannot copy {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Downloads a code version's files into `dest` (its content, not a sub-folder).
pub(crate) fn materialise_code(app: &App, code_ref: &str, dest: &Path) -> Result<(), String> {
    let v = asset_version(app, code_ref, "codes")?;
    let code_uri = v["properties"]["codeUri"].as_str().unwrap_or_default();
    if code_uri.is_empty() {
        return Err(format!("code '{code_ref}' has no codeUri"));
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    match resolve(app, code_uri, 0)? {
        Location::Blob { container, path } => {
            let folder = if path.is_empty() || path.ends_with('/') {
                path
            } else {
                format!("{path}/")
            };
            match app
                .blobs
                .download(&container, &folder, dest)
                .map_err(|e| e.to_string())?
            {
                Some(_) => Ok(()),
                None => Err(format!("code '{code_ref}': no files were uploaded at {code_uri}")),
            }
        }
        Location::Local(src) => copy_dir(&src, dest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_ids() {
        assert_eq!(
            parse_asset_id(
                "azureml:/subscriptions/s/resourceGroups/g/providers/x/workspaces/w/models/m/versions/3",
                "models"
            ),
            Some(("m".to_owned(), "3".to_owned()))
        );
        assert_eq!(parse_asset_id("azureml:m:3", "models"), None);
    }

    #[test]
    fn joins() {
        assert_eq!(join("azureml/j/out/", "model"), "azureml/j/out/model");
        assert_eq!(join("azureml/j/out/", ""), "azureml/j/out/");
        assert_eq!(base_name("a/b/"), "b");
    }
}
