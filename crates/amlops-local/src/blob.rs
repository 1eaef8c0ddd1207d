//! Blob storage emulation: persisted blobs and the subset of the Azure Blob REST protocol a client uses
//! through a SAS URL (the SAS the server signed is checked before a request reaches this module, in `auth.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::error::LocalError;
use crate::store::{Store, kind};
use crate::util::{http_date, is_safe_relative, query_get};

/// Storage account name in blob URLs (`{base}/{ACCOUNT}/{container}/{blob}`, path-style like other emulators).
pub const ACCOUNT: &str = "amlopslocal";
/// Container of the default datastore `workspaceblobstore`.
pub const DEFAULT_CONTAINER: &str = "azureml-blobstore-local";
/// `x-ms-version` reported on every blob response.
const SERVICE_VERSION: &str = "2025-01-05";

/// Properties of one stored blob.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BlobProps {
    pub container: String,
    pub name: String,
    pub size: u64,
    pub etag: String,
    pub content_type: String,
    pub created: i64,
    pub modified: i64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Blob contents on disk, properties in the store, uncommitted blocks in memory.
pub(crate) struct Blobs {
    store: Arc<Store>,
    dir: PathBuf,
    blocks: Mutex<HashMap<String, HashMap<String, Bytes>>>,
}

fn key(container: &str, name: &str) -> String {
    format!("{container}/{name}")
}

fn new_etag() -> String {
    let n = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    format!("\"0x8D{:013X}\"", n & 0x000F_FFFF_FFFF_FFFF)
}

impl Blobs {
    pub fn open(store: Arc<Store>, state_dir: &Path) -> Result<Self, LocalError> {
        let dir = state_dir.join("blobs");
        std::fs::create_dir_all(&dir).map_err(|e| LocalError::state(&dir, e))?;
        Ok(Self {
            store,
            dir,
            blocks: Mutex::new(HashMap::new()),
        })
    }

    fn data_path(&self, container: &str, name: &str) -> PathBuf {
        self.dir
            .join(hex::encode(Sha256::digest(key(container, name).as_bytes())))
    }

    pub fn props(&self, container: &str, name: &str) -> Option<BlobProps> {
        self.store
            .get(kind::BLOBS, &key(container, name))
            .and_then(|v| serde_json::from_value(v).ok())
    }

    /// Stores a whole blob, replacing any previous one.
    pub fn put(
        &self,
        container: &str,
        name: &str,
        data: &[u8],
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Result<BlobProps, LocalError> {
        let path = self.data_path(container, name);
        std::fs::write(&path, data).map_err(|e| LocalError::state(&path, e))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let created = self.props(container, name).map_or(now, |p| p.created);
        let props = BlobProps {
            container: container.to_owned(),
            name: name.to_owned(),
            size: data.len() as u64,
            etag: new_etag(),
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
            created,
            modified: now,
            metadata,
        };
        self.store.put(
            kind::BLOBS,
            &key(container, name),
            serde_json::to_value(&props).unwrap_or_default(),
        )?;
        Ok(props)
    }

    pub fn read(&self, container: &str, name: &str) -> Result<Option<(BlobProps, Vec<u8>)>, LocalError> {
        let Some(props) = self.props(container, name) else {
            return Ok(None);
        };
        let path = self.data_path(container, name);
        let data = std::fs::read(&path).map_err(|e| LocalError::state(&path, e))?;
        Ok(Some((props, data)))
    }

    pub fn set_metadata(
        &self,
        container: &str,
        name: &str,
        metadata: BTreeMap<String, String>,
    ) -> Result<Option<BlobProps>, LocalError> {
        let out = self.store.update(kind::BLOBS, &key(container, name), |v| {
            v["metadata"] = serde_json::to_value(&metadata).unwrap_or_default();
            v["etag"] = serde_json::Value::String(new_etag());
            v["modified"] = OffsetDateTime::now_utc().unix_timestamp().into();
            v.clone()
        })?;
        Ok(out.and_then(|v| serde_json::from_value(v).ok()))
    }

    pub fn delete(&self, container: &str, name: &str) -> Result<bool, LocalError> {
        let existed = self.store.delete(kind::BLOBS, &key(container, name))?;
        if existed {
            let _ = std::fs::remove_file(self.data_path(container, name));
        }
        Ok(existed)
    }

    /// Blobs of a container whose names start with `prefix`, sorted by name.
    pub fn list(&self, container: &str, prefix: &str) -> Vec<BlobProps> {
        self.store
            .list_prefix(kind::BLOBS, &key(container, prefix))
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_value::<BlobProps>(v).ok())
            .filter(|p| p.container == container)
            .collect()
    }

    pub fn stage_block(&self, container: &str, name: &str, block_id: &str, data: Bytes) {
        let mut blocks = self
            .blocks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        blocks
            .entry(key(container, name))
            .or_default()
            .insert(block_id.to_owned(), data);
    }

    /// Commits a block list. Committed blocks of the current blob cannot be referenced again (their boundaries are
    /// not kept); an unknown block id gives `Err(id)`.
    pub fn commit_blocks(
        &self,
        container: &str,
        name: &str,
        ids: &[String],
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Result<Result<BlobProps, String>, LocalError> {
        let staged = {
            let mut blocks = self
                .blocks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            blocks.remove(&key(container, name)).unwrap_or_default()
        };
        let mut data = Vec::new();
        for id in ids {
            match staged.get(id) {
                Some(b) => data.extend_from_slice(b),
                None => return Ok(Err(id.clone())),
            }
        }
        self.put(container, name, &data, content_type, metadata).map(Ok)
    }

    /// Copies every blob under `prefix` (a folder) or the blob named `prefix` (a file) into `dest`.
    /// Returns the number of files written, or `None` when nothing is there.
    pub fn download(
        &self,
        container: &str,
        prefix: &str,
        dest: &Path,
    ) -> Result<Option<PathBuf>, LocalError> {
        let prefix = prefix.trim_start_matches('/');
        if !prefix.is_empty()
            && !prefix.ends_with('/')
            && let Some((_, data)) = self.read(container, prefix)?
        {
            let file_name = prefix.rsplit('/').next().unwrap_or(prefix);
            std::fs::create_dir_all(dest).map_err(|e| LocalError::state(dest, e))?;
            let path = dest.join(file_name);
            std::fs::write(&path, data).map_err(|e| LocalError::state(&path, e))?;
            return Ok(Some(path));
        }
        let folder = if prefix.is_empty() || prefix.ends_with('/') {
            prefix.to_owned()
        } else {
            format!("{prefix}/")
        };
        let blobs = self.list(container, &folder);
        if blobs.is_empty() {
            return Ok(None);
        }
        std::fs::create_dir_all(dest).map_err(|e| LocalError::state(dest, e))?;
        for b in blobs {
            let rel = &b.name[folder.len()..];
            if !is_safe_relative(rel) {
                continue;
            }
            let path = dest.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| LocalError::state(parent, e))?;
            }
            let src = self.data_path(container, &b.name);
            std::fs::copy(&src, &path).map_err(|e| LocalError::state(&src, e))?;
        }
        Ok(Some(dest.to_path_buf()))
    }

    /// Uploads every file under `dir` as `{prefix}/{relative path}`. Returns the number of files.
    pub fn upload_dir(&self, container: &str, prefix: &str, dir: &Path) -> Result<usize, LocalError> {
        let mut n = 0;
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.map_err(|e| LocalError::state(dir, std::io::Error::other(e)))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let data = std::fs::read(entry.path()).map_err(|e| LocalError::state(entry.path(), e))?;
            let name = if prefix.is_empty() {
                rel
            } else {
                format!("{}/{rel}", prefix.trim_end_matches('/'))
            };
            self.put(container, &name, &data, None, BTreeMap::new())?;
            n += 1;
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP protocol

pub(crate) fn blob_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{}\nRequestId:{}\nTime:{}</Message></Error>",
        xml_escape(message),
        crate::util::new_id(),
        crate::util::now_rfc3339()
    );
    let mut resp = Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .header("x-ms-error-code", code)
        .header("x-ms-version", SERVICE_VERSION)
        .body(Body::from(body))
        .unwrap_or_default();
    resp.headers_mut()
        .insert("x-ms-request-id", hv(&uuid::Uuid::new_v4().to_string()));
    resp
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn internal(e: &LocalError) -> Response {
    blob_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string())
}

fn base_response(status: StatusCode) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .header("x-ms-version", SERVICE_VERSION)
        .header("date", http_date(OffsetDateTime::now_utc()))
}

fn with_props(b: http::response::Builder, p: &BlobProps) -> http::response::Builder {
    let ts = |t: i64| http_date(OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH));
    let mut b = b
        .header("etag", &p.etag)
        .header("last-modified", ts(p.modified))
        .header("x-ms-creation-time", ts(p.created))
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-server-encrypted", "true")
        .header("x-ms-lease-status", "unlocked")
        .header("x-ms-lease-state", "available")
        .header("accept-ranges", "bytes")
        .header("content-type", &p.content_type);
    for (k, v) in &p.metadata {
        b = b.header(format!("x-ms-meta-{k}"), v);
    }
    b
}

fn metadata_from(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str().strip_prefix("x-ms-meta-")?;
            Some((name.to_owned(), v.to_str().ok()?.to_owned()))
        })
        .collect()
}

fn content_type_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-ms-blob-content-type")
        .or_else(|| headers.get("content-type"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn parse_range(headers: &HeaderMap, size: u64) -> Option<(u64, u64)> {
    let v = headers
        .get("x-ms-range")
        .or_else(|| headers.get("range"))?
        .to_str()
        .ok()?;
    let spec = v.trim().strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end: u64 = if b.trim().is_empty() {
        size.saturating_sub(1)
    } else {
        b.trim().parse().ok()?
    };
    Some((start, end.min(size.saturating_sub(1))))
}

/// Handles a request for `/{ACCOUNT}/{rest}`; `rest` is the still-encoded path after the account.
/// `x-ms-client-request-id` is echoed as Azure does.
pub(crate) fn handle(
    blobs: &Blobs,
    base_url: &str,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut resp = handle_inner(blobs, base_url, method, rest, query, headers, body);
    if let Some(id) = headers.get("x-ms-client-request-id") {
        resp.headers_mut().insert("x-ms-client-request-id", id.clone());
    }
    resp
}

fn handle_inner(
    blobs: &Blobs,
    base_url: &str,
    method: &Method,
    rest: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let rest = rest.trim_start_matches('/');
    let (container, blob) = match rest.split_once('/') {
        Some((c, b)) => (crate::util::decode(c), crate::util::decode(b)),
        None => (crate::util::decode(rest), String::new()),
    };
    let comp = query_get(query, "comp").unwrap_or("");
    let restype = query_get(query, "restype").unwrap_or("");
    if container.is_empty() {
        return blob_error(
            StatusCode::BAD_REQUEST,
            "InvalidUri",
            "The requested URI does not represent any resource.",
        );
    }
    if blob.is_empty() {
        return handle_container(blobs, base_url, method, &container, comp, restype, query);
    }
    match (method.as_str(), comp) {
        ("PUT", "") => {
            if headers.get("x-ms-copy-source").is_some() {
                return blob_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    "Copy Blob is not emulated.",
                );
            }
            match headers.get("x-ms-blob-type").and_then(|v| v.to_str().ok()) {
                Some("BlockBlob") => {}
                Some(_) => {
                    return blob_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidHeaderValue",
                        "Only BlockBlob is emulated by the local workspace.",
                    );
                }
                None => {
                    return blob_error(
                        StatusCode::BAD_REQUEST,
                        "MissingRequiredHeader",
                        "An HTTP header that's mandatory for this request is not specified: x-ms-blob-type.",
                    );
                }
            }
            if headers.get("if-none-match").is_some_and(|v| v == "*")
                && blobs.props(&container, &blob).is_some()
            {
                return blob_error(
                    StatusCode::CONFLICT,
                    "BlobAlreadyExists",
                    "The specified blob already exists.",
                );
            }
            match blobs.put(
                &container,
                &blob,
                &body,
                content_type_from(headers),
                metadata_from(headers),
            ) {
                Ok(p) => created(&p),
                Err(e) => internal(&e),
            }
        }
        ("PUT", "block") => {
            let Some(id) = query_get(query, "blockid") else {
                return blob_error(
                    StatusCode::BAD_REQUEST,
                    "MissingRequiredQueryParameter",
                    "A query parameter that's mandatory for this request is not specified: blockid.",
                );
            };
            blobs.stage_block(&container, &blob, id, body);
            base_response(StatusCode::CREATED)
                .header("x-ms-request-server-encrypted", "true")
                .body(Body::empty())
                .unwrap_or_default()
        }
        ("PUT", "blocklist") => {
            let text = String::from_utf8_lossy(&body);
            let ids = block_ids(&text);
            match blobs.commit_blocks(
                &container,
                &blob,
                &ids,
                content_type_from(headers),
                metadata_from(headers),
            ) {
                Ok(Ok(p)) => created(&p),
                Ok(Err(id)) => blob_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidBlockList",
                    &format!("The specified block list is invalid: block {id} was not staged."),
                ),
                Err(e) => internal(&e),
            }
        }
        ("PUT", "metadata") => match blobs.set_metadata(&container, &blob, metadata_from(headers)) {
            Ok(Some(p)) => base_response(StatusCode::OK)
                .header("etag", &p.etag)
                .header("last-modified", http_date(OffsetDateTime::now_utc()))
                .header("x-ms-request-server-encrypted", "true")
                .body(Body::empty())
                .unwrap_or_default(),
            Ok(None) => not_found_blob(),
            Err(e) => internal(&e),
        },
        ("GET" | "HEAD", "" | "metadata" | "properties") => {
            let Some(p) = blobs.props(&container, &blob) else {
                return not_found_blob();
            };
            if comp == "metadata" || method == Method::HEAD {
                let mut b = with_props(base_response(StatusCode::OK), &p);
                if comp.is_empty() {
                    b = b.header("content-length", p.size);
                }
                return b.body(Body::empty()).unwrap_or_default();
            }
            let data = match blobs.read(&container, &blob) {
                Ok(Some((_, d))) => d,
                Ok(None) => return not_found_blob(),
                Err(e) => return internal(&e),
            };
            let size = data.len() as u64;
            match parse_range(headers, size) {
                Some((start, end)) if start >= size || start > end => blob_error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                ),
                Some((start, end)) => with_props(base_response(StatusCode::PARTIAL_CONTENT), &p)
                    .header("content-range", format!("bytes {start}-{end}/{size}"))
                    .header("content-length", end - start + 1)
                    .body(Body::from(data[start as usize..=end as usize].to_vec()))
                    .unwrap_or_default(),
                None => with_props(base_response(StatusCode::OK), &p)
                    .header("content-length", size)
                    .body(Body::from(data))
                    .unwrap_or_default(),
            }
        }
        ("DELETE", "") => match blobs.delete(&container, &blob) {
            Ok(true) => base_response(StatusCode::ACCEPTED)
                .body(Body::empty())
                .unwrap_or_default(),
            Ok(false) => not_found_blob(),
            Err(e) => internal(&e),
        },
        _ => blob_error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            &format!("{method} with comp={comp:?} is not emulated by the local workspace."),
        ),
    }
}

fn created(p: &BlobProps) -> Response {
    base_response(StatusCode::CREATED)
        .header("etag", &p.etag)
        .header(
            "last-modified",
            http_date(OffsetDateTime::from_unix_timestamp(p.modified).unwrap_or(OffsetDateTime::UNIX_EPOCH)),
        )
        .header("x-ms-request-server-encrypted", "true")
        .body(Body::empty())
        .unwrap_or_default()
}

fn not_found_blob() -> Response {
    blob_error(
        StatusCode::NOT_FOUND,
        "BlobNotFound",
        "The specified blob does not exist.",
    )
}

fn block_ids(xml: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if matches!(tag, "Latest" | "Committed" | "Uncommitted")
            && let Some(close) = rest.find("</")
        {
            ids.push(rest[..close].trim().to_owned());
            rest = &rest[close..];
        }
    }
    ids
}

fn handle_container(
    blobs: &Blobs,
    base_url: &str,
    method: &Method,
    container: &str,
    comp: &str,
    restype: &str,
    query: &[(String, String)],
) -> Response {
    match (method.as_str(), restype, comp) {
        ("PUT", "container", "") => base_response(StatusCode::CREATED)
            .header("etag", new_etag())
            .header("last-modified", http_date(OffsetDateTime::now_utc()))
            .body(Body::empty())
            .unwrap_or_default(),
        ("GET" | "HEAD", "container", "") => base_response(StatusCode::OK)
            .header("etag", new_etag())
            .header("last-modified", http_date(OffsetDateTime::now_utc()))
            .header("x-ms-lease-status", "unlocked")
            .header("x-ms-lease-state", "available")
            .body(Body::empty())
            .unwrap_or_default(),
        ("GET", "container", "list") => list_blobs(blobs, base_url, container, query),
        _ => blob_error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            &format!("{method} on a container with restype={restype:?} comp={comp:?} is not emulated."),
        ),
    }
}

fn list_blobs(blobs: &Blobs, base_url: &str, container: &str, query: &[(String, String)]) -> Response {
    let prefix = query_get(query, "prefix").unwrap_or("");
    let delimiter = query_get(query, "delimiter").unwrap_or("");
    let marker = query_get(query, "marker").unwrap_or("");
    let max: usize = query_get(query, "maxresults")
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
        .clamp(1, 5000);
    let include_meta = query_get(query, "include").is_some_and(|v| v.split(',').any(|i| i == "metadata"));
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><EnumerationResults ServiceEndpoint=\"{}/{ACCOUNT}/\" ContainerName=\"{}\">",
        xml_escape(base_url),
        xml_escape(container)
    );
    if !prefix.is_empty() {
        xml.push_str(&format!("<Prefix>{}</Prefix>", xml_escape(prefix)));
    }
    if !marker.is_empty() {
        xml.push_str(&format!("<Marker>{}</Marker>", xml_escape(marker)));
    }
    xml.push_str(&format!("<MaxResults>{max}</MaxResults>"));
    if !delimiter.is_empty() {
        xml.push_str(&format!("<Delimiter>{}</Delimiter>", xml_escape(delimiter)));
    }
    xml.push_str("<Blobs>");
    let mut count = 0;
    let mut next_marker = String::new();
    let mut last_prefix: Option<String> = None;
    let ts = |t: i64| http_date(OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH));
    for b in blobs.list(container, prefix) {
        if !marker.is_empty() && b.name.as_str() < marker {
            continue;
        }
        if !delimiter.is_empty()
            && let Some(pos) = b.name[prefix.len()..].find(delimiter)
        {
            let p = b.name[..prefix.len() + pos + delimiter.len()].to_owned();
            if last_prefix.as_deref() == Some(p.as_str()) {
                continue;
            }
            if count == max {
                next_marker = b.name.clone();
                break;
            }
            xml.push_str(&format!(
                "<BlobPrefix><Name>{}</Name></BlobPrefix>",
                xml_escape(&p)
            ));
            last_prefix = Some(p);
            count += 1;
            continue;
        }
        if count == max {
            next_marker = b.name.clone();
            break;
        }
        xml.push_str(&format!(
            "<Blob><Name>{}</Name><Properties><Creation-Time>{}</Creation-Time><Last-Modified>{}</Last-Modified><Etag>{}</Etag><Content-Length>{}</Content-Length><Content-Type>{}</Content-Type><Content-Encoding /><Content-Language /><Content-MD5 /><Cache-Control /><BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted></Properties>",
            xml_escape(&b.name),
            ts(b.created),
            ts(b.modified),
            xml_escape(b.etag.trim_matches('"')),
            b.size,
            xml_escape(&b.content_type)
        ));
        if include_meta {
            xml.push_str("<Metadata>");
            for (k, v) in &b.metadata {
                xml.push_str(&format!("<{k}>{}</{k}>", xml_escape(v)));
            }
            xml.push_str("</Metadata>");
        }
        xml.push_str("</Blob>");
        count += 1;
    }
    xml.push_str("</Blobs>");
    if next_marker.is_empty() {
        xml.push_str("<NextMarker />");
    } else {
        xml.push_str(&format!("<NextMarker>{}</NextMarker>", xml_escape(&next_marker)));
    }
    xml.push_str("</EnumerationResults>");
    base_response(StatusCode::OK)
        .header("content-type", "application/xml")
        .body(Body::from(xml))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::block_ids;

    #[test]
    fn parses_block_lists() {
        let xml = "<?xml version=\"1.0\"?><BlockList><Latest>QQ==</Latest><Uncommitted>Qg==</Uncommitted></BlockList>";
        assert_eq!(block_ids(xml), vec!["QQ==", "Qg=="]);
    }
}
