//! An offline [`Resolver`] for `amlops render`: hashes local files with the caller's [`UploadHashes`] (the
//! client crate's §4 hashes, so render shows the paths a real upload gets) and answers with the blob locations
//! the uploads would get, without uploading anything. This crate computes no upload hash itself.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::plan::{Resolver, RestRequest, Upload, UploadOutcome};
use crate::refs::AssetType;

/// A [`Resolver`] answering from outcomes obtained beforehand: uploads by [`Upload::index`], `@latest` lookups
/// by (collection, name). Anything not there is an error naming it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PrecomputedResolver {
    /// Upload outcomes by [`Upload::index`].
    pub uploads: HashMap<usize, UploadOutcome>,
    /// Latest versions by (collection, name).
    pub latest: HashMap<(String, String), String>,
}

impl PrecomputedResolver {
    /// `requests` without the PUTs of the code versions the uploads already made (or found by
    /// hash): the client creates those as it uploads, so they are not sent twice.
    pub fn without_uploaded_code(&self, requests: Vec<RestRequest>) -> Vec<RestRequest> {
        let created: Vec<String> = self
            .uploads
            .values()
            .filter_map(|o| match o {
                UploadOutcome::Code { name, version, .. } => {
                    Some(format!("/codes/{name}/versions/{version}"))
                }
                UploadOutcome::Blob { .. } => None,
            })
            .collect();
        requests
            .into_iter()
            .filter(|r| !(r.method == "PUT" && created.iter().any(|c| r.path.ends_with(c.as_str()))))
            .collect()
    }
}

impl Resolver for PrecomputedResolver {
    fn upload(&mut self, upload: &Upload) -> Result<UploadOutcome, String> {
        self.uploads
            .get(&upload.index)
            .cloned()
            .ok_or_else(|| format!("'{}' was not uploaded", upload.local_path.display()))
    }

    fn latest_version(&mut self, asset: AssetType, name: &str) -> Result<String, String> {
        self.latest
            .get(&(asset.collection().to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no latest version of {} '{name}' was looked up",
                    asset.collection()
                )
            })
    }
}

/// The API guide §4 hashes of local files, as an upload computes them (implemented over the client crate).
pub trait UploadHashes: Send + Sync {
    /// §4(a) content hash of a code snapshot: `root` plus `includes` (each under its own name at the snapshot
    /// root, as `additional_includes` are assembled).
    fn content_hash(&self, root: &Path, includes: &[PathBuf]) -> Result<String, String>;
    /// §4(b) object hash of a folder or file (its `LocalUpload/{hash}/...` path).
    fn object_hash(&self, root: &Path) -> Result<String, String>;
}

/// Offline resolver. Code assets are named after their content hash (the SDK would reuse an
/// existing version with that hash or create a uuid-named one); `@latest` becomes `latest_placeholder`.
#[derive(Clone)]
pub struct OfflineResolver {
    /// Default datastore name.
    pub datastore: String,
    /// Storage account of the datastore (unknown offline: a placeholder).
    pub account: String,
    /// Container of the datastore.
    pub container: String,
    /// Version answered for `name@latest`.
    pub latest_placeholder: String,
    /// The upload hashes.
    pub hashes: Arc<dyn UploadHashes>,
}

impl std::fmt::Debug for OfflineResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineResolver")
            .field("datastore", &self.datastore)
            .field("account", &self.account)
            .field("container", &self.container)
            .field("latest_placeholder", &self.latest_placeholder)
            .finish_non_exhaustive()
    }
}

impl OfflineResolver {
    /// Placeholder storage names (`workspaceblobstore`, `<storage-account>`, `<container>`, `<latest>`) and
    /// the given hashes.
    pub fn new(hashes: Arc<dyn UploadHashes>) -> Self {
        OfflineResolver {
            datastore: "workspaceblobstore".into(),
            account: "<storage-account>".into(),
            container: "<container>".into(),
            latest_placeholder: "<latest>".into(),
            hashes,
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
            let hash = self.hashes.content_hash(p, &upload.additional_includes)?;
            let name = format!(
                "{}-{}-{}-{}-{}",
                &hash[0..8],
                &hash[8..12],
                &hash[12..16],
                &hash[16..20],
                &hash[20..32]
            );
            // As the SDK uploads a snapshot: a single file (no additional includes) at the root of the
            // pending-upload container, a folder (or an assembled snapshot) under its basename.
            let folder = if p.is_file() && upload.additional_includes.is_empty() {
                ""
            } else {
                upload.basename.as_str()
            };
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
            let hash = self.hashes.object_hash(p)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::UploadRole;

    /// Hashes that name the path, to see which one the resolver asked for.
    struct Named;

    impl UploadHashes for Named {
        fn content_hash(&self, root: &Path, includes: &[PathBuf]) -> Result<String, String> {
            assert!(root.exists());
            Ok(format!("{:0<32}", format!("c{}", includes.len())))
        }
        fn object_hash(&self, _root: &Path) -> Result<String, String> {
            Ok("obj".into())
        }
    }

    #[test]
    fn answers_with_the_given_hashes() {
        let dir = std::env::temp_dir().join(format!("amlops-spec-offline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut r = OfflineResolver::new(Arc::new(Named));
        let up = |role: UploadRole| Upload {
            index: 0,
            role,
            local_path: dir.clone(),
            rel_path: "src".into(),
            basename: "src".into(),
            additional_includes: vec![dir.clone()],
        };
        let code = r.upload(&up(UploadRole::Code)).unwrap();
        let UploadOutcome::Code { name, hash, .. } = code else {
            panic!("{code:?}")
        };
        assert_eq!(hash, format!("{:0<32}", "c1"));
        assert_eq!(name, "c1000000-0000-0000-0000-000000000000");
        let blob = r.upload(&up(UploadRole::Model)).unwrap();
        assert!(
            matches!(blob, UploadOutcome::Blob { ref path, .. } if path == "LocalUpload/obj/src"),
            "{blob:?}"
        );
        let mut missing = up(UploadRole::Model);
        missing.local_path = dir.join("missing");
        assert!(r.upload(&missing).unwrap_err().contains("does not exist"));
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A single code file lands at the root of the pending-upload container (as the SDK uploads it); with
    /// additional includes it is part of the assembled `code_with_additional_includes` folder.
    #[test]
    fn a_single_code_file_is_at_the_container_root() {
        let dir = std::env::temp_dir().join(format!("amlops-spec-offline-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("train.py");
        std::fs::write(&file, "print(1)").unwrap();
        let mut r = OfflineResolver::new(Arc::new(Named));
        let mut up = Upload {
            index: 0,
            role: UploadRole::Code,
            local_path: file.clone(),
            rel_path: "train.py".into(),
            basename: "train.py".into(),
            additional_includes: Vec::new(),
        };
        let uri = |r: &mut OfflineResolver, up: &Upload| match r.upload(up).unwrap() {
            UploadOutcome::Code { code_uri, .. } => code_uri,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            uri(&mut r, &up),
            "https://<storage-account>.blob.core.windows.net/<pending-upload-container>/"
        );
        up.basename = "code_with_additional_includes".into();
        up.additional_includes = vec![dir.clone()];
        assert_eq!(
            uri(&mut r, &up),
            "https://<storage-account>.blob.core.windows.net/<pending-upload-container>/code_with_additional_includes"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn precomputed_answers_what_it_holds() {
        let mut r = PrecomputedResolver::default();
        let up = Upload {
            index: 3,
            role: UploadRole::Model,
            local_path: PathBuf::from("m"),
            rel_path: "m".into(),
            basename: "m".into(),
            additional_includes: Vec::new(),
        };
        assert_eq!(r.upload(&up).unwrap_err(), "'m' was not uploaded");
        assert_eq!(
            r.latest_version(AssetType::Environment, "e").unwrap_err(),
            "no latest version of environments 'e' was looked up"
        );
        let out = UploadOutcome::Blob {
            datastore: "ds".into(),
            account: "a".into(),
            container: "c".into(),
            path: "p".into(),
            hash: "h".into(),
        };
        r.uploads.insert(3, out.clone());
        r.latest.insert(("environments".into(), "e".into()), "4".into());
        assert_eq!(r.upload(&up).unwrap(), out);
        assert_eq!(r.latest_version(AssetType::Environment, "e").unwrap(), "4");
    }
}
