//! The files of a folder to upload, and their §4 hashes, computed exactly as the Azure ML SDK does.
//!
//! The walk never leaves the folder (issue: a code folder's link to `/proc/self/environ` must not upload the
//! agent's environment):
//!
//! - entries are read with `symlink_metadata`; a symbolic link whose target stays inside the upload root is
//!   followed, once (every folder is visited at most once, by its canonical path, so links to a parent or two
//!   links to the same folder cannot loop or multiply the walk); any other link (outside the root, dangling) is
//!   skipped with a warning naming it;
//! - only regular files are read (no FIFO, socket or device), and each is opened so that a file swapped for a link
//!   after the listing is refused ([`open_listed`]);
//! - `.git` (folder or file) is never uploaded, at any depth;
//! - the root's `.amlignore` (else `.gitignore`) applies to the whole folder, as the SDK applies it: the SDK reads
//!   the ignore file of the root only ("the ignore file must be in the root directory"), so an ignore file in a
//!   subfolder is uploaded as a file and excludes nothing (the content hash stays the SDK's);
//! - [`confine`] checks that code folders and `additional_includes` resolve inside the repository.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{AzureMlError, ErrorKind};

/// The seed of the §4(b) object hash.
pub const OBJECT_HASH_SEED: &[u8] = b"Initialize for october 2021 AML CLI version";

/// The folder a code snapshot with `additional_includes` is uploaded as (`{blobUri}/code_with_additional_includes`),
/// the name the SDK gives the temporary folder it assembles (the spec crate's `Upload::basename`).
pub const ADDITIONAL_INCLUDES_FOLDER: &str = "code_with_additional_includes";

/// A file of a folder to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// The file's real path (symbolic links resolved): what is read.
    pub path: PathBuf,
    /// Path relative to the folder, `/`-separated (a followed link keeps its own name).
    pub relative: String,
    /// Size in bytes.
    pub size: u64,
}

pub(crate) fn io_err(op: &str, path: &Path, e: impl std::fmt::Display) -> AzureMlError {
    AzureMlError::new(ErrorKind::Io, op, format!("'{}': {e}", path.display()))
}

const OP: &str = "upload";

/// The root's `.amlignore`, else its `.gitignore` (a link counts only when it leads to a file inside the root).
fn ignore_matcher(
    root: &Path,
    root_real: &Path,
) -> Result<Option<ignore::gitignore::Gitignore>, AzureMlError> {
    for name in [".amlignore", ".gitignore"] {
        let p = root.join(name);
        let inside = std::fs::canonicalize(&p).is_ok_and(|t| t.starts_with(root_real) && t.is_file());
        if inside {
            let mut b = ignore::gitignore::GitignoreBuilder::new(root);
            if let Some(e) = b.add(&p) {
                return Err(io_err(OP, &p, e));
            }
            return b.build().map(Some).map_err(|e| io_err(OP, &p, e));
        }
    }
    Ok(None)
}

/// What a walked entry is.
enum Kind {
    File { real: PathBuf, size: u64 },
    Dir { real: PathBuf },
}

/// One entry of a folder: its name, its path under the root as given (for ignore rules and messages), what it is.
struct Entry {
    name: String,
    shown: PathBuf,
    kind: Kind,
}

/// A walk of one upload root.
struct Walker {
    root: PathBuf,
    matcher: Option<ignore::gitignore::Gitignore>,
    root_real: PathBuf,
    visited: HashSet<PathBuf>,
}

impl Walker {
    fn new(root: &Path, root_real: PathBuf) -> Result<Self, AzureMlError> {
        Ok(Self {
            matcher: ignore_matcher(root, &root_real)?,
            root: root.to_path_buf(),
            visited: HashSet::from([root_real.clone()]),
            root_real,
        })
    }

    fn ignored(&self, shown: &Path, is_dir: bool) -> bool {
        self.matcher
            .as_ref()
            .is_some_and(|m| m.matched_path_or_any_parents(shown, is_dir).is_ignore())
    }

    /// The entries of the folder `real` (shown as `shown`), sorted by lower-cased name: links resolved or
    /// skipped, `.git` and ignored entries left out, each folder at most once.
    fn entries(&mut self, real: &Path, shown: &Path) -> Result<Vec<Entry>, AzureMlError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(real).map_err(|e| io_err(OP, shown, e))? {
            let entry = entry.map_err(|e| io_err(OP, shown, e))?;
            let name = entry.file_name();
            let name_text = name.to_string_lossy().into_owned();
            let shown_path = shown.join(&name);
            if name_text.eq_ignore_ascii_case(".git") {
                tracing::debug!(path = %shown_path.display(), "'.git' is never uploaded");
                continue;
            }
            let path = real.join(&name);
            let meta = std::fs::symlink_metadata(&path).map_err(|e| io_err(OP, &shown_path, e))?;
            let kind = if meta.file_type().is_symlink() {
                match self.follow(&path, &shown_path) {
                    Some(k) => k,
                    None => continue,
                }
            } else if meta.is_dir() {
                Kind::Dir { real: path }
            } else if meta.is_file() {
                Kind::File {
                    real: path,
                    size: meta.len(),
                }
            } else {
                tracing::warn!(
                    "skipping '{}': not a regular file or folder (a pipe, socket or device is never uploaded)",
                    shown_path.display()
                );
                continue;
            };
            let is_dir = matches!(kind, Kind::Dir { .. });
            if self.ignored(&shown_path, is_dir) {
                continue;
            }
            out.push(Entry {
                name: name_text,
                shown: shown_path,
                kind,
            });
        }
        // In name order, so which of two ways into a folder wins does not depend on the file system's order.
        out.sort_by_key(|e| e.name.to_lowercase());
        out.retain(|e| match &e.kind {
            Kind::Dir { real } if !self.visited.insert(real.clone()) => {
                tracing::warn!(
                    "skipping '{}': the folder it leads to ('{}') is already part of the upload",
                    e.shown.display(),
                    real.display()
                );
                false
            }
            _ => true,
        });
        Ok(out)
    }

    /// Resolve the link `path`: its target when that is a file or folder inside the root, else `None` after a
    /// warning naming the link.
    fn follow(&self, path: &Path, shown: &Path) -> Option<Kind> {
        let target = match std::fs::canonicalize(path) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(
                    "skipping the symbolic link '{}': its target cannot be read ({e})",
                    shown.display()
                );
                return None;
            }
        };
        if !target.starts_with(&self.root_real) {
            tracing::warn!(
                "skipping the symbolic link '{}': it points outside the folder being uploaded ('{}'), to '{}'",
                shown.display(),
                self.root.display(),
                target.display()
            );
            return None;
        }
        match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => Some(Kind::Dir { real: target }),
            Ok(m) if m.is_file() => Some(Kind::File {
                real: target,
                size: m.len(),
            }),
            _ => {
                tracing::warn!(
                    "skipping the symbolic link '{}': it leads to no regular file or folder",
                    shown.display()
                );
                None
            }
        }
    }
}

/// What the root of an upload is: its real path and whether it is a single file.
fn resolve_root(root: &Path) -> Result<(PathBuf, Option<u64>), AzureMlError> {
    let real = std::fs::canonicalize(root).map_err(|e| io_err(OP, root, e))?;
    let meta = std::fs::metadata(&real).map_err(|e| io_err(OP, root, e))?;
    if meta.is_file() {
        Ok((real, Some(meta.len())))
    } else if meta.is_dir() {
        Ok((real, None))
    } else {
        Err(io_err(OP, root, "not a regular file or folder"))
    }
}

/// Open a listed file for reading, refusing anything but the regular file that was listed: a path that is now a
/// symbolic link, or whose opened file is not the one at the path (swapped in between), is an error.
pub fn open_listed(path: &Path) -> std::io::Result<std::fs::File> {
    let before = std::fs::symlink_metadata(path)?;
    if !before.is_file() {
        return Err(std::io::Error::other(
            "it is no longer a regular file (a symbolic link or folder replaced it)",
        ));
    }
    let file = std::fs::File::open(path)?;
    let opened = file.metadata()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (opened.dev(), opened.ino()) != (before.dev(), before.ino()) {
            return Err(std::io::Error::other("it was replaced while being read"));
        }
    }
    if !opened.is_file() {
        return Err(std::io::Error::other("it is not a regular file"));
    }
    Ok(file)
}

/// The files of `root` (recursively, links inside the root followed once, other links skipped, `.git` left out),
/// minus those excluded by the root `.amlignore` (else `.gitignore`), sorted by lower-cased relative path. A single
/// file is returned as itself.
pub fn list_files(root: &Path) -> Result<Vec<LocalFile>, AzureMlError> {
    let (root_real, single) = resolve_root(root)?;
    if let Some(size) = single {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![LocalFile {
            path: root_real,
            relative: name,
            size,
        }]);
    }
    let mut walker = Walker::new(root, root_real.clone())?;
    let mut out = Vec::new();
    let mut stack = vec![(root_real, root.to_path_buf(), String::new())];
    while let Some((real, shown, prefix)) = stack.pop() {
        for e in walker.entries(&real, &shown)? {
            let relative = if prefix.is_empty() {
                e.name.clone()
            } else {
                format!("{prefix}/{}", e.name)
            };
            match e.kind {
                Kind::Dir { real } => stack.push((real, e.shown, relative)),
                Kind::File { real, size } => out.push(LocalFile {
                    path: real,
                    relative,
                    size,
                }),
            }
        }
    }
    out.sort_by_key(|f| f.relative.to_lowercase());
    Ok(out)
}

fn hash_file(h: &mut Sha256, path: &Path) -> Result<(), AzureMlError> {
    use std::io::Read;
    let mut f = open_listed(path).map_err(|e| io_err(OP, path, e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| io_err(OP, path, e))?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

/// The §4(a) content hash (version 202208) of listed files: sha256 of the file count, then per file
/// `#<relative path>#<size>`, then every file's bytes, in the list's order.
pub fn content_hash_of(files: &[LocalFile]) -> Result<String, AzureMlError> {
    let mut h = Sha256::new();
    h.update(files.len().to_string().as_bytes());
    for f in files {
        h.update(format!("#{}#", f.relative).as_bytes());
        h.update(f.size.to_string().as_bytes());
    }
    for f in files {
        hash_file(&mut h, &f.path)?;
    }
    Ok(hex::encode(h.finalize()))
}

/// The §4(a) content hash of a folder.
pub fn content_hash(root: &Path) -> Result<String, AzureMlError> {
    content_hash_of(&list_files(root)?)
}

/// The name an include gets at the snapshot root: its file or folder name as written (canonical when the path
/// ends in `..`).
fn include_name(include: &Path) -> String {
    match include.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => include
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default(),
    }
}

/// Check that `path` (a code folder or an additional include, `what` says which) resolves inside `repository`,
/// links resolved. `None` allows anything (the `allowPathsOutsideRepository` input).
pub fn confine(what: &str, path: &Path, repository: Option<&Path>) -> Result<(), AzureMlError> {
    let Some(repository) = repository else {
        return Ok(());
    };
    let repo = std::fs::canonicalize(repository).map_err(|e| {
        AzureMlError::invalid_input(
            OP,
            format!(
                "the repository folder '{}' cannot be read: {e}",
                repository.display()
            ),
        )
    })?;
    let real = std::fs::canonicalize(path).map_err(|e| {
        AzureMlError::invalid_input(OP, format!("the {what} '{}' cannot be read: {e}", path.display()))
    })?;
    if real.starts_with(&repo) {
        return Ok(());
    }
    Err(AzureMlError::invalid_input(
        OP,
        format!(
            "the {what} '{}' resolves to '{}', outside the repository '{}'; code and additional_includes are \
             uploaded only from the repository the pipeline checked out. Move the files into the repository, or \
             set the task input allowPathsOutsideRepository: true if every file this pipeline reads is trusted",
            path.display(),
            real.display(),
            repository.display()
        ),
    ))
}

/// [`snapshot_files`] with every part confined to `repository` ([`confine`]) first.
pub fn snapshot_files_within(
    root: &Path,
    includes: &[PathBuf],
    repository: Option<&Path>,
) -> Result<Vec<LocalFile>, AzureMlError> {
    confine("code path", root, repository)?;
    for inc in includes {
        if std::fs::symlink_metadata(inc).is_ok() {
            confine("additional include", inc, repository)?;
        }
    }
    snapshot_files(root, includes)
}

/// The files of a code snapshot made of `root` plus `includes` (a component's `additional_includes`, resolved
/// against the component YAML's folder): the files of `root` as [`list_files`] gives them, each include folder's
/// files under the folder's own name at the snapshot root, each include file as itself; every part filtered by
/// its own root `.amlignore`/`.gitignore`. Sorted by lower-cased relative path, the order the content hash reads.
///
/// Nothing is copied: each [`LocalFile`] keeps its own path, `relative` is its name in the snapshot. An include
/// that does not exist, or whose name at the snapshot root is already taken (case-insensitively) by a file or
/// folder of `root` or by an earlier include, is an error naming the include (and what it collides with).
pub fn snapshot_files(root: &Path, includes: &[PathBuf]) -> Result<Vec<LocalFile>, AzureMlError> {
    let mut files = list_files(root)?;
    // Lower-cased first path segment -> where it comes from, to report collisions.
    let mut taken: std::collections::HashMap<String, String> = files
        .iter()
        .map(|f| {
            let top = f.relative.split('/').next().unwrap_or_default().to_lowercase();
            (
                top,
                format!("'{}' in the code folder '{}'", f.relative, root.display()),
            )
        })
        .collect();
    for inc in includes {
        let meta = std::fs::metadata(inc).map_err(|e| {
            AzureMlError::invalid_input(
                OP,
                format!(
                    "additional include '{}' cannot be read ({e}); additional_includes paths are relative to \
                     the component YAML's folder: fix the path or remove it",
                    inc.display()
                ),
            )
        })?;
        let name = include_name(inc);
        if name.is_empty() {
            return Err(AzureMlError::invalid_input(
                OP,
                format!(
                    "additional include '{}' has no file or folder name to place at the snapshot root",
                    inc.display()
                ),
            ));
        }
        let key = name.to_lowercase();
        if let Some(other) = taken.get(&key) {
            return Err(AzureMlError::invalid_input(
                OP,
                format!(
                    "additional include '{}' would be '{name}' at the root of the code snapshot, which is \
                     already {other}; rename one of them or remove the include",
                    inc.display()
                ),
            ));
        }
        let mut part = list_files(inc)?;
        for f in &mut part {
            f.relative = if meta.is_dir() {
                format!("{name}/{}", f.relative)
            } else {
                name.clone()
            };
        }
        taken.insert(key, format!("the additional include '{}'", inc.display()));
        files.extend(part);
    }
    files.sort_by_key(|f| f.relative.to_lowercase());
    Ok(files)
}

/// The §4(a) content hash of a code snapshot made of `root` plus `includes` ([`snapshot_files`]), the hash
/// [`crate::AzureMlClient::upload_code_with_includes`] uploads under.
pub fn content_hash_with_includes(root: &Path, includes: &[PathBuf]) -> Result<String, AzureMlError> {
    content_hash_of(&snapshot_files(root, includes)?)
}

/// The §4(b) object hash of a folder or file: sha256 seeded with [`OBJECT_HASH_SEED`]; per directory, entries
/// sorted by lower-cased name (ignored ones skipped), each contributes its name, then its bytes (file) or its own
/// entries (directory). The walk is [`list_files`]'s (links inside followed once, `.git` left out).
pub fn object_hash(root: &Path) -> Result<String, AzureMlError> {
    let mut h = Sha256::new();
    h.update(OBJECT_HASH_SEED);
    let (root_real, single) = resolve_root(root)?;
    if single.is_some() {
        hash_file(&mut h, &root_real)?;
    } else {
        let mut walker = Walker::new(root, root_real.clone())?;
        hash_dir(&mut h, &mut walker, &root_real, root)?;
    }
    Ok(hex::encode(h.finalize()))
}

fn hash_dir(h: &mut Sha256, walker: &mut Walker, real: &Path, shown: &Path) -> Result<(), AzureMlError> {
    for e in walker.entries(real, shown)? {
        h.update(e.name.as_bytes());
        match &e.kind {
            Kind::File { real, .. } => hash_file(h, real)?,
            Kind::Dir { real } => hash_dir(h, walker, real, &e.shown)?,
        }
    }
    Ok(())
}

/// Where the blob `name` (a `/`-separated path under `prefix`) is written below `dest`: its segments after
/// `prefix`, each a plain file name. `None` (skip it) when a segment is empty after trimming, `.`, `..`, holds a
/// `\` or `:` (a Windows separator or drive, `C:`), or a NUL: a blob name never chooses where a file lands
/// outside `dest`.
pub fn local_path_for_blob(dest: &Path, prefix: &str, name: &str) -> Option<PathBuf> {
    let rest = name.strip_prefix(prefix)?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if segments.is_empty() {
        return None;
    }
    let mut out = dest.to_path_buf();
    for s in segments {
        if s == "." || s == ".." || s.contains(['\\', ':', '\0']) {
            return None;
        }
        let p = Path::new(s);
        let mut comps = p.components();
        match (comps.next(), comps.next()) {
            (Some(std::path::Component::Normal(_)), None) => out.push(s),
            _ => return None,
        }
    }
    Some(out)
}

/// Whether `path` (a download target: a folder joined with a blob name's segments) has no `..` or `.`, and no
/// `\\` or `:` in a file name (a Windows separator or drive): a blob name made it, and must not have chosen a place
/// outside the folder.
pub fn is_plain_target(path: &Path) -> bool {
    use std::path::Component;
    path.components().all(|c| match c {
        Component::Prefix(_) | Component::RootDir => true,
        Component::Normal(n) => !n.to_string_lossy().contains(['\\', ':', '\0']),
        Component::CurDir | Component::ParentDir => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_counts_names_sizes_then_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("code/sub")).unwrap();
        std::fs::create_dir_all(d.join("inc")).unwrap();
        std::fs::write(d.join("code/a.py"), "a").unwrap();
        std::fs::write(d.join("code/sub/B.py"), "bb").unwrap();
        std::fs::write(d.join("inc/c.py"), "c").unwrap();
        let h1 = content_hash(&d.join("code")).unwrap();
        assert_eq!(h1, content_hash(&d.join("code")).unwrap());
        // Hand-computed: count, then #rel#size per file, then contents.
        let mut h = Sha256::new();
        h.update(b"2");
        h.update(b"#a.py#1");
        h.update(b"#sub/B.py#2");
        h.update(b"abb");
        assert_eq!(h1, hex::encode(h.finalize()));
        assert_eq!(content_hash_with_includes(&d.join("code"), &[]).unwrap(), h1);
        let with_inc = content_hash_with_includes(&d.join("code"), &[d.join("inc")]).unwrap();
        let mut h = Sha256::new();
        h.update(b"3");
        h.update(b"#a.py#1");
        h.update(b"#inc/c.py#1");
        h.update(b"#sub/B.py#2");
        h.update(b"acbb");
        assert_eq!(with_inc, hex::encode(h.finalize()));
        let o1 = object_hash(&d.join("code")).unwrap();
        std::fs::write(d.join("code/a.py"), "changed").unwrap();
        assert_ne!(o1, object_hash(&d.join("code")).unwrap());
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn rels(files: &[LocalFile]) -> Vec<&str> {
        files.iter().map(|f| f.relative.as_str()).collect()
    }

    #[test]
    fn snapshots_place_includes_at_the_root_each_filtered_by_its_own_ignore_file() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("code/train.py"), "t");
        write(&d.join("code/.amlignore"), "*.tmp\n");
        write(&d.join("code/skip.tmp"), "x");
        // The include's own .gitignore applies to it; the code folder's .amlignore does not.
        write(&d.join("shared/common/Util.py"), "u");
        write(&d.join("shared/common/keep.tmp"), "k");
        write(&d.join("shared/common/.gitignore"), "out/\n");
        write(&d.join("shared/common/out/big.bin"), "b");
        write(&d.join("shared/conf.yaml"), "c: 1");
        let includes = [d.join("shared/common"), d.join("shared/conf.yaml")];
        let files = snapshot_files(&d.join("code"), &includes).unwrap();
        assert_eq!(
            rels(&files),
            [
                ".amlignore",
                "common/.gitignore",
                "common/keep.tmp",
                "common/Util.py",
                "conf.yaml",
                "train.py"
            ]
        );
        assert_eq!(files[4].path, d.join("shared/conf.yaml").canonicalize().unwrap());
        assert_eq!(
            content_hash_with_includes(&d.join("code"), &includes).unwrap(),
            content_hash_of(&files).unwrap()
        );
        // A path ending in `..` is placed under its canonical name.
        let up = d.join("shared/common/out/..");
        let files = snapshot_files(&d.join("code"), &[up]).unwrap();
        assert!(rels(&files).contains(&"common/Util.py"), "{:?}", rels(&files));
    }

    #[test]
    fn missing_and_colliding_includes_are_errors_naming_the_paths() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("code/train.py"), "t");
        write(&d.join("code/Common/x.py"), "x");
        write(&d.join("other/common/y.py"), "y");
        write(&d.join("other/train.py"), "t2");
        write(&d.join("a/lib/z.py"), "z");
        write(&d.join("b/lib/z.py"), "z");
        let code = d.join("code");

        let missing = d.join("nope/helpers");
        let e = snapshot_files(&code, std::slice::from_ref(&missing))
            .unwrap_err()
            .to_string();
        assert!(e.contains(&missing.display().to_string()), "{e}");
        assert!(e.contains("additional include"), "{e}");

        let shown = |p: &str| d.join(p).display().to_string();
        let e = snapshot_files(&code, &[d.join("other/train.py")])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&shown("other/train.py")), "{e}");
        assert!(e.contains("'train.py' in the code folder"), "{e}");

        // Case-insensitively: `common` against the code folder's `Common/`.
        let e = snapshot_files(&code, &[d.join("other/common")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("'Common/x.py' in the code folder"), "{e}");

        let e = snapshot_files(&code, &[d.join("a/lib"), d.join("b/lib")])
            .unwrap_err()
            .to_string();
        assert!(e.contains(&shown("b/lib")), "{e}");
        assert!(
            e.contains(&format!("the additional include '{}'", shown("a/lib"))),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_are_followed_once_and_links_outside_are_skipped() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("outside/secret.txt"), "SECRET-OUTSIDE");
        let code = d.join("code");
        write(&code.join("train.py"), "t");
        write(&code.join("lib/util.py"), "u");
        symlink(d.join("outside/secret.txt"), code.join("leak.txt")).unwrap();
        symlink("/proc/self/environ", code.join("environ")).unwrap();
        symlink(d.join("outside"), code.join("outside-dir")).unwrap();
        symlink("..", code.join("parent")).unwrap();
        symlink(".", code.join("self-a")).unwrap();
        symlink(".", code.join("lib/self-b")).unwrap();
        symlink("../..", code.join("lib/up")).unwrap();
        symlink("missing", code.join("dangling")).unwrap();
        // Inside the folder: followed, under the link's own name.
        symlink("lib/util.py", code.join("alias.py")).unwrap();
        symlink("lib", code.join("lib-alias")).unwrap();
        let files = list_files(&code).unwrap();
        assert_eq!(rels(&files), ["alias.py", "lib/util.py", "train.py"]);
        // The folder `lib` is walked once: as `lib` (sorted first), not again as `lib-alias`.
        assert_eq!(files[0].path, code.join("lib/util.py").canonicalize().unwrap());
        let hash = object_hash(&code).unwrap();
        // The object hash walks the same files: the outside ones change nothing.
        std::fs::write(d.join("outside/secret.txt"), "CHANGED").unwrap();
        assert_eq!(object_hash(&code).unwrap(), hash);
        let before = content_hash(&code).unwrap();
        std::fs::write(code.join("train.py"), "t2").unwrap();
        assert_ne!(content_hash(&code).unwrap(), before);
    }

    #[cfg(unix)]
    #[test]
    fn many_links_to_their_own_folders_do_not_multiply_the_walk() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let mut d = dir.path().join("code");
        write(&d.join("f.txt"), "f");
        let root = d.clone();
        // Ten levels, each with two links back to itself and two to the root: without the visited set this
        // would be 4^10 walks.
        for i in 0..10 {
            symlink(".", d.join("a")).unwrap();
            symlink(".", d.join("b")).unwrap();
            symlink(&root, d.join("r1")).unwrap();
            symlink(&root, d.join("r2")).unwrap();
            d = d.join(format!("d{i}"));
            write(&d.join("f.txt"), "f");
        }
        let files = list_files(&root).unwrap();
        assert_eq!(files.len(), 11);
        object_hash(&root).unwrap();
    }

    #[test]
    fn git_is_never_uploaded_and_only_the_root_ignore_file_applies() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("code");
        write(&code.join("train.py"), "t");
        write(
            &code.join(".git/config"),
            "[http] extraheader = AUTHORIZATION: bearer SECRET",
        );
        write(&code.join("vendor/.git"), "gitdir: ../.git/modules/vendor");
        write(&code.join("vendor/x.py"), "x");
        write(&code.join(".GIT/HEAD"), "ref");
        // As the SDK: a subfolder's ignore file is uploaded, and excludes nothing.
        write(&code.join("sub/.amlignore"), "*.csv\n");
        write(&code.join("sub/data.csv"), "1,2");
        let files = list_files(&code).unwrap();
        assert_eq!(
            rels(&files),
            ["sub/.amlignore", "sub/data.csv", "train.py", "vendor/x.py"]
        );
        let with_git = object_hash(&code).unwrap();
        std::fs::write(code.join(".git/config"), "changed").unwrap();
        assert_eq!(object_hash(&code).unwrap(), with_git);
        // The root's ignore file applies at every depth.
        write(&code.join(".amlignore"), "*.csv\n");
        let files = list_files(&code).unwrap();
        assert!(!rels(&files).contains(&"sub/data.csv"), "{:?}", rels(&files));
    }

    #[cfg(unix)]
    #[test]
    fn code_and_includes_must_resolve_inside_the_repository() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let repo = d.join("repo");
        write(&repo.join("src/train.py"), "t");
        write(&repo.join("shared/util.py"), "u");
        write(&d.join("elsewhere/lib/x.py"), "x");
        symlink(d.join("elsewhere/lib"), repo.join("linked-lib")).unwrap();
        let inside = [repo.join("shared")];
        assert!(snapshot_files_within(&repo.join("src"), &inside, Some(&repo)).is_ok());
        let e = snapshot_files_within(&repo.join("src/../../elsewhere/lib"), &[], Some(&repo))
            .unwrap_err()
            .to_string();
        assert!(e.contains("code path"), "{e}");
        assert!(e.contains("outside the repository"), "{e}");
        assert!(e.contains("allowPathsOutsideRepository"), "{e}");
        let e = snapshot_files_within(&repo.join("src"), &[repo.join("linked-lib")], Some(&repo))
            .unwrap_err()
            .to_string();
        assert!(e.contains("additional include"), "{e}");
        assert!(e.contains(&repo.join("linked-lib").display().to_string()), "{e}");
        // Allowed explicitly: no check.
        assert!(snapshot_files_within(&repo.join("src"), &[repo.join("linked-lib")], None).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_listed_file_swapped_for_a_link_is_not_read() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(&d.join("code/a.txt"), "a");
        write(&d.join("secret.txt"), "SECRET");
        let files = list_files(&d.join("code")).unwrap();
        std::fs::remove_file(d.join("code/a.txt")).unwrap();
        symlink(d.join("secret.txt"), d.join("code/a.txt")).unwrap();
        let e = content_hash_of(&files).unwrap_err().to_string();
        assert!(e.contains("no longer a regular file"), "{e}");
    }

    #[test]
    fn blob_names_never_choose_a_path_outside_the_folder() {
        let dest = Path::new("/data/out");
        let at = |name: &str| local_path_for_blob(dest, "inference/", name);
        assert_eq!(at("inference/day1.csv"), Some(dest.join("day1.csv")));
        assert_eq!(at("inference/a//b.csv"), Some(dest.join("a").join("b.csv")));
        for bad in [
            "inference/../x.csv",
            "inference/a/../../x.csv",
            "inference/..\\..\\x.csv",
            "inference/C:\\Windows\\x.csv",
            "inference/C:x.csv",
            "inference/./x.csv",
            "inference/",
            "other/x.csv",
        ] {
            assert_eq!(at(bad), None, "{bad}");
        }
        assert!(is_plain_target(&dest.join("a").join("b.csv")));
        assert!(!is_plain_target(&dest.join("..").join("b.csv")));
        assert!(!is_plain_target(&dest.join("C:\\x.csv")));
        assert!(!is_plain_target(&dest.join("a\\..\\..\\x.csv")));
    }
}
