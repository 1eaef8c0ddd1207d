//! An offline [`Resolver`] for `amlops render`: hashes local files the way the SDK does (API guide
//! §4) and answers with the blob locations the uploads would get, without uploading anything.

use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::plan::{Resolver, Upload, UploadOutcome};
use crate::refs::AssetType;

/// Offline resolver. Code assets are named after their content hash (the SDK would reuse an
/// existing version with that hash or create a uuid-named one); `@latest` becomes `latest_placeholder`.
#[derive(Debug, Clone)]
pub struct OfflineResolver {
    /// Default datastore name.
    pub datastore: String,
    /// Storage account of the datastore (unknown offline: a placeholder).
    pub account: String,
    /// Container of the datastore.
    pub container: String,
    /// Version answered for `name@latest`.
    pub latest_placeholder: String,
}

impl Default for OfflineResolver {
    fn default() -> Self {
        OfflineResolver {
            datastore: "workspaceblobstore".into(),
            account: "<storage-account>".into(),
            container: "<container>".into(),
            latest_placeholder: "<latest>".into(),
        }
    }
}

impl Resolver for OfflineResolver {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        let p = &upload.local_path;
        if !p.exists() {
            return Err(format!("local path `{}` does not exist", p.display()));
        }
        if upload.role.is_code() {
            let hash = content_hash_with(p, &upload.additional_includes).map_err(|e| e.to_string())?;
            let name = format!(
                "{}-{}-{}-{}-{}",
                &hash[0..8],
                &hash[8..12],
                &hash[12..16],
                &hash[16..20],
                &hash[20..32]
            );
            let folder = if p.is_file() { "" } else { upload.basename.as_str() };
            Ok(UploadOutcome::Code {
                name,
                version: "1".into(),
                code_uri: format!(
                    "https://{}.blob.core.windows.net/<pending-upload-container>/{folder}",
                    self.account
                ),
                hash,
            })
        } else {
            let hash = object_hash(p).map_err(|e| e.to_string())?;
            Ok(UploadOutcome::Blob {
                datastore: self.datastore.clone(),
                account: self.account.clone(),
                container: self.container.clone(),
                path: format!("LocalUpload/{hash}/{}", upload.basename),
                hash,
            })
        }
    }

    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> Result<String, String> {
        Ok(self.latest_placeholder.clone())
    }
}

/// Files under `root` (or `root` itself) as (relative POSIX path, absolute path), sorted by
/// lower-cased relative path.
fn files(root: &Path) -> std::io::Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    if root.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, root.to_path_buf()));
        return Ok(out);
    }
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((rel, dir)) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push((r, entry.path()));
            } else if ft.is_file() {
                out.push((r, entry.path()));
            }
        }
    }
    out.sort_by_key(|(r, _)| r.to_lowercase());
    Ok(out)
}

/// Code snapshot hash, version 202208: sha256 of the file count, then `#rel#size` per file,
/// then the file contents, files sorted by lower-cased relative path.
pub fn content_hash(root: &Path) -> std::io::Result<String> {
    content_hash_with(root, &[])
}

/// [`content_hash`] of a snapshot that also holds `includes` (each under its own name at the
/// snapshot root, as `additional_includes` are assembled).
pub fn content_hash_with(root: &Path, includes: &[std::path::PathBuf]) -> std::io::Result<String> {
    let mut fs_ = files(root)?;
    for inc in includes {
        let name = inc
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (rel, abs) in files(inc)? {
            let rel = if inc.is_file() {
                rel
            } else {
                format!("{name}/{rel}")
            };
            fs_.push((rel, abs));
        }
    }
    fs_.sort_by_key(|(r, _)| r.to_lowercase());
    let mut h = Sha256::new();
    h.update(fs_.len().to_string().as_bytes());
    for (rel, abs) in &fs_ {
        let size = fs::metadata(abs)?.len();
        h.update(format!("#{rel}#{size}").as_bytes());
    }
    for (_, abs) in &fs_ {
        h.update(fs::read(abs)?);
    }
    Ok(hex::encode(h.finalize()))
}

/// Datastore artifact hash: sha256 seeded with the SDK's constant, then per file (sorted by
/// lower-cased path) its relative path and its bytes.
pub fn object_hash(root: &Path) -> std::io::Result<String> {
    let mut h = Sha256::new();
    h.update(b"Initialize for october 2021 AML CLI version");
    for (rel, abs) in files(root)? {
        h.update(rel.as_bytes());
        h.update(fs::read(&abs)?);
    }
    Ok(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_follow_content_and_names() {
        let dir = std::env::temp_dir().join(format!("amlops-spec-local-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("code/sub")).unwrap();
        fs::create_dir_all(dir.join("inc")).unwrap();
        fs::write(dir.join("code/a.py"), "a").unwrap();
        fs::write(dir.join("code/sub/B.py"), "bb").unwrap();
        fs::write(dir.join("inc/c.py"), "c").unwrap();
        let h1 = content_hash(&dir.join("code")).unwrap();
        assert_eq!(h1, content_hash(&dir.join("code")).unwrap());
        // hand-computed: count, then #rel#size per file, then contents
        let mut h = Sha256::new();
        h.update(b"2");
        h.update(b"#a.py#1");
        h.update(b"#sub/B.py#2");
        h.update(b"abb");
        assert_eq!(h1, hex::encode(h.finalize()));
        let with_inc = content_hash_with(&dir.join("code"), &[dir.join("inc")]).unwrap();
        assert_ne!(h1, with_inc);
        let o1 = object_hash(&dir.join("code")).unwrap();
        fs::write(dir.join("code/a.py"), "changed").unwrap();
        assert_ne!(o1, object_hash(&dir.join("code")).unwrap());
        fs::remove_dir_all(&dir).ok();
    }
}
