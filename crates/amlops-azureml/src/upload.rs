//! Uploading a local folder (API guide §4): content hashes computed exactly as the Azure ML SDK does, so a repeat
//! upload is skipped, and the Blob REST calls over SAS URLs.
//!
//! Blob REST is written by hand (Put Blob, Put Block, Put Block List, Get Blob Properties, Set Blob Metadata,
//! `x-ms-version` [`BLOB_API_VERSION`]) rather than with `azure_storage_blob`: that crate needs `azure_core`'s own
//! HTTP stack (a second reqwest and TLS provider with a C build, awkward for static musl task binaries), while these
//! five calls share our client, proxy/CA settings and [`crate::http::RetryPolicy`], and are exactly the subset the
//! local workspace emulates over loopback http.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::Method;
use sha2::Sha256;
use url::Url;

use crate::client::{Auth, AzureMlClient, Call};
use crate::error::{AzureMlError, ErrorKind};
use crate::hosts::CredentialKind;
use crate::models::{CodeVersion, CodeVersionProperties, PendingUploadRequest, Resource, SecretsType};

/// The content hash version the service expects (`hash_version`).
pub const CONTENT_HASH_VERSION: &str = "202208";
/// The Blob service version sent with every blob call.
pub const BLOB_API_VERSION: &str = "2023-11-03";
pub use crate::walk::{
    ADDITIONAL_INCLUDES_FOLDER, LocalFile, OBJECT_HASH_SEED, content_hash, content_hash_of,
    content_hash_with_includes, list_files, object_hash, snapshot_files, snapshot_files_within,
};
use crate::walk::{io_err, open_listed};

/// Upload tuning. Defaults: 4 files in parallel, files above 32 MiB in 8 MiB blocks.
#[derive(Debug, Clone)]
pub struct UploadOptions {
    /// Files uploaded at the same time.
    pub parallelism: usize,
    /// Files larger than this are uploaded in blocks.
    pub single_put_limit: u64,
    /// Block size.
    pub block_size: u64,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            parallelism: 4,
            single_put_limit: 32 << 20,
            block_size: 8 << 20,
        }
    }
}

/// The result of a code upload.
#[derive(Debug, Clone)]
pub struct CodeUpload {
    /// The code version's ARM id (use as `codeId`).
    pub code_id: String,
    /// The content hash.
    pub hash: String,
    /// Whether an existing version with the same hash was reused (nothing uploaded).
    pub reused: bool,
    /// Files uploaded.
    pub files_uploaded: usize,
}

/// A code version made from a local folder ([`AzureMlClient::upload_code_asset`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeAsset {
    /// The code asset's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its `codeUri` (the blob folder URL).
    pub code_uri: String,
    /// The content hash.
    pub hash: String,
    /// Whether an existing version with the same hash was reused (nothing uploaded).
    pub reused: bool,
    /// Files uploaded.
    pub files_uploaded: usize,
}

impl CodeUpload {
    /// The name and version in [`CodeUpload::code_id`] (`…/codes/{name}/versions/{version}`).
    pub fn name_and_version(&self) -> Option<(String, String)> {
        let parts: Vec<&str> = self.code_id.trim_end_matches('/').split('/').collect();
        let n = parts.len();
        (n >= 4
            && parts[n - 4].eq_ignore_ascii_case("codes")
            && parts[n - 2].eq_ignore_ascii_case("versions"))
        .then(|| (parts[n - 3].to_string(), parts[n - 1].to_string()))
    }
}

/// The result of a datastore upload.
#[derive(Debug, Clone)]
pub struct DatastoreUpload {
    /// `azureml://subscriptions/.../datastores/{ds}/paths/LocalUpload/{hash}/{folder}`.
    pub uri: String,
    /// The blob folder URL (without SAS), for `contextUri`-style fields.
    pub blob_folder_url: String,
    /// The datastore's name.
    pub datastore: String,
    /// The storage account.
    pub account: String,
    /// The blob container.
    pub container: String,
    /// The blob path in the container (`LocalUpload/{hash}/{folder or file name}`).
    pub path: String,
    /// The object hash.
    pub hash: String,
    /// Whether the folder was already there (nothing uploaded).
    pub reused: bool,
    /// Files uploaded.
    pub files_uploaded: usize,
}

/// A container reachable with a SAS: `https://acct.blob.../container` + `sv=...&sig=...`.
#[derive(Clone)]
pub struct SasContainer {
    /// The container URL, no query.
    pub container_url: Url,
    /// The SAS query (a secret), without `?`.
    pub sas: String,
}

impl std::fmt::Debug for SasContainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasContainer")
            .field("container_url", &self.container_url.as_str())
            .finish_non_exhaustive()
    }
}

impl SasContainer {
    /// Parse a container SAS URL.
    pub fn from_sas_url(op: &str, sas_url: &str) -> Result<Self, AzureMlError> {
        let mut url = crate::http::parse_checked_url(sas_url).map_err(|e| AzureMlError::from_url(op, e))?;
        let sas = url.query().unwrap_or_default().to_string();
        url.set_query(None);
        Ok(Self {
            container_url: url,
            sas,
        })
    }

    /// The URL of a blob (path `/`-separated, each segment encoded) with the SAS and extra query pairs.
    pub fn blob_url(&self, path: &str, extra: &[(&str, &str)]) -> Url {
        let mut url = self.container_url.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty();
            p.extend(path.split('/').filter(|s| !s.is_empty()));
        }
        let mut q = self.sas.clone();
        for (k, v) in extra {
            let pair = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(k, v)
                .finish();
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&pair);
        }
        url.set_query((!q.is_empty()).then_some(q.as_str()));
        url
    }

    /// The blob folder URL without SAS.
    pub fn folder_url(&self, path: &str) -> String {
        let mut url = self.container_url.clone();
        if let Ok(mut p) = url.path_segments_mut() {
            p.pop_if_empty();
            p.extend(path.split('/').filter(|s| !s.is_empty()));
        }
        url.to_string()
    }
}

impl AzureMlClient {
    fn blob_call<'a>(op: &'a str, method: Method, url: Url) -> Call<'a> {
        let mut c = Call::new(op, method, url);
        c.auth = Auth::None;
        c.headers.push(("x-ms-version", BLOB_API_VERSION.to_string()));
        c
    }

    /// Put Blob (block blob) with `body`.
    pub async fn put_blob(
        &self,
        container: &SasContainer,
        path: &str,
        body: Bytes,
    ) -> Result<(), AzureMlError> {
        let mut c = Self::blob_call("blob.put", Method::PUT, container.blob_url(path, &[]));
        c.headers.push(("x-ms-blob-type", "BlockBlob".into()));
        c.body = Some(body);
        c.content_type = Some("application/octet-stream");
        self.call(c).await.map(|_| ())
    }

    /// Put Block.
    pub async fn put_block(
        &self,
        container: &SasContainer,
        path: &str,
        block_id: &str,
        body: Bytes,
    ) -> Result<(), AzureMlError> {
        let url = container.blob_url(path, &[("comp", "block"), ("blockid", block_id)]);
        let mut c = Self::blob_call("blob.putBlock", Method::PUT, url);
        c.body = Some(body);
        c.content_type = Some("application/octet-stream");
        self.call(c).await.map(|_| ())
    }

    /// Put Block List (all `Latest`).
    pub async fn put_block_list(
        &self,
        container: &SasContainer,
        path: &str,
        ids: &[String],
    ) -> Result<(), AzureMlError> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in ids {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let url = container.blob_url(path, &[("comp", "blocklist")]);
        let mut c = Self::blob_call("blob.putBlockList", Method::PUT, url);
        c.body = Some(Bytes::from(xml));
        c.content_type = Some("application/xml");
        self.call(c).await.map(|_| ())
    }

    /// Get Blob Properties: `None` if the blob does not exist, else its `x-ms-meta-*` metadata.
    pub async fn get_blob_metadata(
        &self,
        container: &SasContainer,
        path: &str,
    ) -> Result<Option<Vec<(String, String)>>, AzureMlError> {
        let mut c = Self::blob_call("blob.getProperties", Method::HEAD, container.blob_url(path, &[]));
        c.accept = &[404];
        let resp = self.call(c).await?;
        if resp.status.as_u16() == 404 {
            return Ok(None);
        }
        Ok(Some(
            resp.headers
                .iter()
                .filter_map(|(k, v)| {
                    let name = k.as_str().strip_prefix("x-ms-meta-")?;
                    Some((name.to_string(), v.to_str().ok()?.to_string()))
                })
                .collect(),
        ))
    }

    /// Set Blob Metadata.
    pub async fn set_blob_metadata(
        &self,
        container: &SasContainer,
        path: &str,
        metadata: &[(&str, &str)],
    ) -> Result<(), AzureMlError> {
        let mut c = Self::blob_call(
            "blob.setMetadata",
            Method::PUT,
            container.blob_url(path, &[("comp", "metadata")]),
        );
        for (k, v) in metadata {
            let name: &'static str = match *k {
                "upload_status" => "x-ms-meta-upload_status",
                "name" => "x-ms-meta-name",
                "version" => "x-ms-meta-version",
                _ => continue,
            };
            c.headers.push((name, (*v).to_string()));
        }
        self.call(c).await.map(|_| ())
    }

    /// Upload one file (single Put Blob, or blocks above the limit).
    pub async fn upload_file(
        &self,
        container: &SasContainer,
        blob_path: &str,
        file: &LocalFile,
        options: &UploadOptions,
    ) -> Result<(), AzureMlError> {
        const OP: &str = "upload";
        use tokio::io::AsyncReadExt;
        // Only the regular file that was listed is read (never a link swapped in since).
        let mut f =
            tokio::fs::File::from_std(open_listed(&file.path).map_err(|e| io_err(OP, &file.path, e))?);
        if file.size <= options.single_put_limit {
            let mut data = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
            f.read_to_end(&mut data)
                .await
                .map_err(|e| io_err(OP, &file.path, e))?;
            return self.put_blob(container, blob_path, Bytes::from(data)).await;
        }
        let block = usize::try_from(options.block_size.max(1)).unwrap_or(8 << 20);
        let mut ids = Vec::new();
        loop {
            let mut buf = Vec::with_capacity(block);
            let n = (&mut f)
                .take(block as u64)
                .read_to_end(&mut buf)
                .await
                .map_err(|e| io_err(OP, &file.path, e))?;
            if n == 0 {
                break;
            }
            let id = STANDARD.encode(format!("{:08}", ids.len()));
            self.put_block(container, blob_path, &id, Bytes::from(buf))
                .await?;
            ids.push(id);
        }
        self.put_block_list(container, blob_path, &ids).await
    }

    async fn upload_files(
        &self,
        container: &SasContainer,
        prefix: &str,
        files: &[LocalFile],
        options: &UploadOptions,
    ) -> Result<usize, AzureMlError> {
        let container = Arc::new(container.clone());
        let results: Vec<Result<(), AzureMlError>> = futures::stream::iter(files.iter().cloned())
            .map(|f| {
                let container = container.clone();
                let path = blob_path(prefix, &f.relative);
                async move {
                    tracing::debug!(file = %f.relative, size = f.size, "uploading");
                    self.upload_file(&container, &path, &f, options).await
                }
            })
            .buffer_unordered(options.parallelism.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        Ok(files.len())
    }

    /// Upload a folder as a code version (§4a): hash it; reuse a version of `name` with that hash; else
    /// startPendingUpload, put the files under `{folderName}/`, and PUT the version with the hash. `version`
    /// defaults to the first 16 hex digits of the hash, so the same content always maps to the same version.
    /// A single file is put at the root of the pending-upload container and `codeUri` is `{blobUri}/`, as the SDK
    /// does, so `code: ./train.py` runs `python train.py` from the same place in Azure ML.
    pub async fn upload_code(
        &self,
        name: &str,
        version: Option<&str>,
        folder: &Path,
        options: &UploadOptions,
    ) -> Result<CodeUpload, AzureMlError> {
        self.upload_code_with_includes(name, version, folder, &[], options)
            .await
    }

    /// [`AzureMlClient::upload_code`] of a snapshot made of `folder` plus a component's `additional_includes`
    /// ([`snapshot_files`]: each include folder under its own name at the snapshot root, each include file as
    /// itself), uploaded straight from where the files are (no temporary copy) under
    /// [`ADDITIONAL_INCLUDES_FOLDER`], with the hash of [`content_hash_with_includes`]. Without includes this is
    /// exactly [`AzureMlClient::upload_code`].
    pub async fn upload_code_with_includes(
        &self,
        name: &str,
        version: Option<&str>,
        folder: &Path,
        includes: &[PathBuf],
        options: &UploadOptions,
    ) -> Result<CodeUpload, AzureMlError> {
        let files = snapshot_files_within(folder, includes, self.config.code_repository.as_deref())?;
        if files.is_empty() {
            return Err(AzureMlError::invalid_input(
                "codeVersions.upload",
                format!("'{}' holds no file to upload", folder.display()),
            ));
        }
        // As the SDK uploads them: a folder under its own name, a single file (no includes) at the container
        // root, a snapshot with includes under `code_with_additional_includes`.
        let folder_name = if !includes.is_empty() {
            ADDITIONAL_INCLUDES_FOLDER.to_string()
        } else if folder.is_file() {
            String::new()
        } else {
            folder_name(folder)
        };
        self.upload_code_files(name, version, &folder_name, &files, options)
            .await
    }

    /// Upload listed files (each a local path and its `/`-separated name in the snapshot, e.g. from
    /// [`list_files`] or [`snapshot_files`]) as a code version: the content hash of `files` in their order
    /// ([`content_hash_of`]); reuse a version of `name` with that hash; else startPendingUpload, put every file at
    /// `{folder_name}/{relative}`, and PUT the version with `codeUri` = `{blobUri}/{folder_name}` and the hash.
    /// An empty `folder_name` puts the files at the container root (`{relative}`, `codeUri` = `{blobUri}/`).
    pub async fn upload_code_files(
        &self,
        name: &str,
        version: Option<&str>,
        folder_name: &str,
        files: &[LocalFile],
        options: &UploadOptions,
    ) -> Result<CodeUpload, AzureMlError> {
        const OP: &str = "codeVersions.upload";
        if files.is_empty() {
            return Err(AzureMlError::invalid_input(
                OP,
                format!("the code snapshot '{folder_name}' holds no file to upload"),
            ));
        }
        let hash = content_hash_of(files)?;
        let existing = self.find_code_versions_by_hash(name, &hash).await?;
        if let Some(found) = existing.into_iter().find(|c| c.id.is_some()) {
            tracing::info!(code = ?found.id, "the code is already uploaded; reusing it");
            return Ok(CodeUpload {
                code_id: found.id.unwrap_or_default(),
                hash,
                reused: true,
                files_uploaded: 0,
            });
        }
        let version = version
            .map(str::to_string)
            .unwrap_or_else(|| hash[..16].to_string());
        let pending = self
            .start_code_pending_upload(
                name,
                &version,
                &PendingUploadRequest {
                    pending_upload_id: None,
                    pending_upload_type: "TemporaryBlobReference".into(),
                },
            )
            .await?;
        let reference = pending.blob_reference_for_consumption.unwrap_or_default();
        let sas = reference.credential.and_then(|c| c.sas_uri).ok_or_else(|| {
            AzureMlError::new(ErrorKind::Decode, OP, "startPendingUpload returned no SAS URI")
        })?;
        let container = SasContainer::from_sas_url(OP, &sas)?;
        self.check_host(
            OP,
            &container.container_url,
            CredentialKind::StorageSas,
            "startPendingUpload's blobReferenceForConsumption.credential.sasUri",
        )?;
        let uploaded = self.upload_files(&container, folder_name, files, options).await?;
        let code_uri = match reference.blob_uri {
            Some(b) => format!("{}/{folder_name}", b.trim_end_matches('/')),
            None if folder_name.is_empty() => format!("{}/", container.folder_url("").trim_end_matches('/')),
            None => container.folder_url(folder_name),
        };
        let mut props = CodeVersionProperties {
            code_uri: Some(code_uri),
            ..Default::default()
        };
        props.properties = Some(
            [
                ("hash_sha256".to_string(), hash.clone().into()),
                ("hash_version".to_string(), CONTENT_HASH_VERSION.into()),
            ]
            .into_iter()
            .collect(),
        );
        let created: CodeVersion = self
            .create_or_update_code_version(name, &version, &Resource::new(props))
            .await?;
        let code_id = created
            .id
            .unwrap_or_else(|| self.arm_id(&["codes", name, "versions", &version]));
        Ok(CodeUpload {
            code_id,
            hash,
            reused: false,
            files_uploaded: uploaded,
        })
    }

    /// [`AzureMlClient::upload_code`] with the default version, then read the version back for its `codeUri`.
    pub async fn upload_code_asset(
        &self,
        name: &str,
        folder: &Path,
        options: &UploadOptions,
    ) -> Result<CodeAsset, AzureMlError> {
        self.upload_code_asset_with_includes(name, folder, &[], options)
            .await
    }

    /// [`AzureMlClient::upload_code_with_includes`] with the default version, then read the version back for its
    /// `codeUri`.
    pub async fn upload_code_asset_with_includes(
        &self,
        name: &str,
        folder: &Path,
        includes: &[PathBuf],
        options: &UploadOptions,
    ) -> Result<CodeAsset, AzureMlError> {
        const OP: &str = "codeVersions.upload";
        let done = self
            .upload_code_with_includes(name, None, folder, includes, options)
            .await?;
        let (name, version) = done.name_and_version().ok_or_else(|| {
            AzureMlError::new(ErrorKind::Decode, OP, format!("bad code id '{}'", done.code_id))
        })?;
        let code = self.get_code_version(&name, &version).await?;
        Ok(CodeAsset {
            code_uri: code.properties.code_uri.unwrap_or_default(),
            name,
            version,
            hash: done.hash,
            reused: done.reused,
            files_uploaded: done.files_uploaded,
        })
    }

    /// Upload a folder to the default datastore (§4b) under `LocalUpload/{objectHash}/{folderName}`. Skipped when
    /// the first file's blob already carries `upload_status=completed`. `asset` (name, version) goes into that
    /// metadata. With an account key (not a SAS) a 2-hour container SAS is signed locally
    /// ([`container_sas_from_account_key`]). The container URL is `{protocol}://{accountName}.blob.{endpoint}/{container}`, or
    /// `{properties.properties.blobEndpoint}/{container}` when the datastore advertises one (the local workspace), or
    /// path-style under [`crate::ClientConfig::blob_endpoint_override`]. Identity-based datastores give a clear error.
    pub async fn upload_to_default_datastore(
        &self,
        folder: &Path,
        asset: (&str, &str),
        options: &UploadOptions,
    ) -> Result<DatastoreUpload, AzureMlError> {
        const OP: &str = "datastores.upload";
        let files = list_files(folder)?;
        if files.is_empty() {
            return Err(AzureMlError::invalid_input(
                OP,
                format!("'{}' holds no file to upload", folder.display()),
            ));
        }
        let hash = object_hash(folder)?;
        let ds = self.get_default_datastore().await?;
        let ds_name = ds.name.clone().unwrap_or_else(|| "workspaceblobstore".into());
        let p = &ds.properties;
        let (Some(account), Some(container_name)) = (p.account_name.as_deref(), p.container_name.as_deref())
        else {
            return Err(AzureMlError::new(
                ErrorKind::Decode,
                OP,
                format!("datastore '{ds_name}' has no account or container"),
            ));
        };
        let cred_type = p
            .credentials
            .as_ref()
            .and_then(|c| c.credentials_type.clone())
            .unwrap_or_default();
        // The container's host is checked before a SAS is asked for.
        let container_url = self.datastore_container(OP, &ds)?;
        if cred_type.eq_ignore_ascii_case("None") {
            return Err(AzureMlError::invalid_input(
                OP,
                format!(
                    "datastore '{ds_name}' is identity-based; amlops uploads need a datastore with credentials"
                ),
            ));
        }
        let secrets = self.list_datastore_secrets(&ds_name, true).await?;
        let https = p
            .protocol
            .as_deref()
            .unwrap_or("https")
            .eq_ignore_ascii_case("https");
        let sas = match (&secrets.secrets_type, &secrets.sas_token, &secrets.key) {
            (_, Some(t), _) if !t.is_empty() => t.trim_start_matches('?').to_string(),
            (_, _, Some(key)) if !key.is_empty() => {
                let now = time::OffsetDateTime::now_utc();
                let sas = container_sas_from_account_key(
                    account,
                    container_name,
                    key,
                    now - time::Duration::minutes(5),
                    now + time::Duration::hours(2),
                    https,
                )?;
                crate::client::register_sas(&self.secrets, &sas);
                sas
            }
            (t, _, _) => {
                return Err(AzureMlError::invalid_input(
                    OP,
                    format!(
                        "datastore '{ds_name}' returned {} secrets; amlops uploads need a SAS token or an account key",
                        t.as_ref().map(SecretsType::as_str).unwrap_or("no")
                    ),
                ));
            }
        };
        let container = SasContainer::from_sas_url(OP, &format!("{container_url}?{sas}"))?;
        let folder_name = folder_name(folder);
        // A single file lands at `LocalUpload/{hash}/{fileName}` and its URI names the file, as the SDK does; a
        // folder's files land under `LocalUpload/{hash}/{folderName}/` and its URI names the folder.
        let single_file = folder.is_file();
        let blob_prefix = if single_file {
            format!("LocalUpload/{hash}")
        } else {
            format!("LocalUpload/{hash}/{folder_name}")
        };
        let prefix = if single_file {
            format!("{blob_prefix}/{folder_name}")
        } else {
            blob_prefix.clone()
        };
        let first = format!("{blob_prefix}/{}", files[0].relative);
        let meta = self.get_blob_metadata(&container, &first).await?;
        let done = meta.is_some_and(|m| m.iter().any(|(k, v)| k == "upload_status" && v == "completed"));
        let uploaded = if done {
            tracing::info!(prefix = %prefix, "the folder is already uploaded; skipping");
            0
        } else {
            let n = self
                .upload_files(&container, &blob_prefix, &files, options)
                .await?;
            self.set_blob_metadata(
                &container,
                &first,
                &[
                    ("upload_status", "completed"),
                    ("name", asset.0),
                    ("version", asset.1),
                ],
            )
            .await?;
            n
        };
        let c = &self.config;
        Ok(DatastoreUpload {
            uri: format!(
                "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/{ds_name}/paths/{prefix}",
                c.subscription_id, c.resource_group, c.workspace
            ),
            blob_folder_url: container.folder_url(&prefix),
            datastore: ds_name.clone(),
            account: account.to_string(),
            container: container_name.to_string(),
            path: prefix.clone(),
            hash,
            reused: done,
            files_uploaded: uploaded,
        })
    }
}

/// `{prefix}/{relative}`, or `relative` alone under an empty prefix (the container root).
fn blob_path(prefix: &str, relative: &str) -> String {
    match prefix.trim_end_matches('/') {
        "" => relative.to_string(),
        p => format!("{p}/{relative}"),
    }
}

fn folder_name(folder: &Path) -> String {
    folder
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| folder.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "upload".into())
}

/// The `sv` of SAS tokens signed by [`container_sas_from_account_key`].
pub const SAS_VERSION: &str = "2022-11-02";

/// A service SAS for a container (`sr=c`, permissions `racwl`), signed with the storage account key: HMAC-SHA256
/// over the string-to-sign of versions 2020-12-06 and later (permissions, start, expiry,
/// `/blob/{account}/{container}`, identifier, IP, protocol, version, resource, snapshot time, encryption scope, and
/// five empty response-header overrides, joined by newlines). Returns the query string (a secret).
pub fn container_sas_from_account_key(
    account: &str,
    container: &str,
    account_key_b64: &str,
    start: time::OffsetDateTime,
    expiry: time::OffsetDateTime,
    https_only: bool,
) -> Result<String, AzureMlError> {
    use hmac::Mac;
    const OP: &str = "datastores.upload";
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let st = start
        .to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .map_err(|e| AzureMlError::invalid_input(OP, e.to_string()))?;
    let se = expiry
        .to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .map_err(|e| AzureMlError::invalid_input(OP, e.to_string()))?;
    let key = STANDARD
        .decode(account_key_b64.trim())
        .map_err(|_| AzureMlError::invalid_input(OP, "the datastore's account key is not valid base64"))?;
    let permissions = "racwl";
    let protocol = if https_only { "https" } else { "" };
    let resource = format!("/blob/{account}/{container}");
    let string_to_sign = [
        permissions,
        &st,
        &se,
        &resource,
        "",
        "",
        protocol,
        SAS_VERSION,
        "c",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| AzureMlError::invalid_input(OP, "the datastore's account key cannot be used"))?;
    mac.update(string_to_sign.as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("sv", SAS_VERSION)
        .append_pair("sr", "c")
        .append_pair("sp", permissions);
    q.append_pair("st", &st).append_pair("se", &se);
    if https_only {
        q.append_pair("spr", "https");
    }
    q.append_pair("sig", &sig);
    Ok(q.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(id: &str) -> CodeUpload {
        CodeUpload {
            code_id: id.to_string(),
            hash: String::new(),
            reused: false,
            files_uploaded: 0,
        }
    }

    #[test]
    fn code_ids_name_a_version() {
        assert_eq!(
            code("/subscriptions/s/resourceGroups/g/providers/P/workspaces/w/codes/c1/versions/ab12")
                .name_and_version(),
            Some(("c1".to_string(), "ab12".to_string()))
        );
        assert_eq!(
            code("/x/codes/c1/versions/ab").name_and_version(),
            Some(("c1".into(), "ab".into()))
        );
        assert_eq!(code("/x/models/m/versions/1").name_and_version(), None);
    }
}
