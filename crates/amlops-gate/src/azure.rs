//! [`GateBackend`] over the Azure ML REST client (`amlops-azureml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amlops_agent::TaskContext;
use amlops_azureml::upload::SasContainer;
use amlops_azureml::walk::{is_plain_target, local_path_for_blob};
use amlops_azureml::{AzureMlClient, AzureMlError};
use async_trait::async_trait;

use crate::backend::{BackendError, EndpointTraffic, GateBackend, JobInput, ModelVersion};
use crate::gate::GateError;
use crate::inputs::WorkspaceInputs;

/// The gate's Azure ML access through the REST client.
#[derive(Debug, Clone)]
pub struct AzureBackend {
    client: AzureMlClient,
}

impl AzureBackend {
    /// Use an existing client.
    pub fn new(client: AzureMlClient) -> Self {
        Self { client }
    }

    /// Build the client for the task's connection and workspace: the agent's proxy and CA settings, the
    /// connection's credential (every token registered as a secret), the task's cancellation token.
    pub fn connect(ctx: &TaskContext, workspace: &WorkspaceInputs) -> Result<Self, GateError> {
        let conn = &workspace.connection;
        if conn.subscription_id.is_none() {
            return Err(GateError::Config(format!(
                "service connection '{}' (input 'azureSubscription') is not scoped to a subscription; use a \
                 subscription-scoped Azure Resource Manager connection",
                conn.id
            )));
        }
        let client = amlops_azureml::connect(
            ctx,
            conn,
            &workspace.resource_group,
            &workspace.workspace,
            ctx.cancel.clone(),
        )
        .map_err(|e| GateError::Config(format!("cannot set up the Azure ML client: {e}")))?;
        Ok(Self { client })
    }
}

fn backend_error(operation: String, e: AzureMlError) -> BackendError {
    BackendError::new(operation, e)
}

fn model_from(name: &str, version: &str, m: amlops_azureml::models::ModelVersion) -> ModelVersion {
    ModelVersion {
        name: name.to_string(),
        version: m.name.clone().unwrap_or_else(|| version.to_string()),
        id: m.id.clone(),
        tags: m
            .properties
            .tags
            .clone()
            .or_else(|| m.tags.clone())
            .unwrap_or_default(),
        properties: m.properties.properties.clone().unwrap_or_default(),
    }
}

#[async_trait]
impl GateBackend for AzureBackend {
    async fn job_metrics(&self, job: &str) -> Result<BTreeMap<String, f64>, BackendError> {
        let run = self
            .client
            .mlflow_get_run(job)
            .await
            .map_err(|e| backend_error(format!("reading the MLflow metrics of job '{job}'"), e))?;
        Ok(run
            .data
            .metrics
            .iter()
            .map(|m| (m.key.clone(), m.value))
            .collect())
    }

    async fn model_version(&self, name: &str, version: &str) -> Result<Option<ModelVersion>, BackendError> {
        match self.client.get_model_version(name, version).await {
            Ok(m) => Ok(Some(model_from(name, version, m))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(backend_error(format!("reading the model {name}:{version}"), e)),
        }
    }

    async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersion>, BackendError> {
        match self.client.list_model_versions(name).await {
            Ok(list) => Ok(list.into_iter().map(|m| model_from(name, "", m)).collect()),
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            Err(e) => Err(backend_error(
                format!("listing the versions of model '{name}'"),
                e,
            )),
        }
    }

    async fn endpoint_traffic(&self, endpoint: &str) -> Result<Option<EndpointTraffic>, BackendError> {
        match self.client.get_online_endpoint(endpoint).await {
            Ok(ep) => Ok(Some(EndpointTraffic {
                traffic: ep
                    .properties
                    .traffic
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(d, t)| (d, t.clamp(0, 100) as u32))
                    .collect(),
            })),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(backend_error(
                format!("reading the online endpoint '{endpoint}'"),
                e,
            )),
        }
    }

    async fn deployment_model(
        &self,
        endpoint: &str,
        deployment: &str,
    ) -> Result<Option<String>, BackendError> {
        match self.client.get_online_deployment(endpoint, deployment).await {
            Ok(d) => Ok(d.properties.model.filter(|m| !m.trim().is_empty())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(backend_error(
                format!("reading the deployment '{deployment}' of endpoint '{endpoint}'"),
                e,
            )),
        }
    }

    async fn download_data(&self, uri: &str, dest: &Path) -> Result<PathBuf, BackendError> {
        if let Some((datastore, path)) = parse_datastore_uri(uri) {
            return self.download_datastore_path(uri, &datastore, &path, dest).await;
        }
        let op = || format!("downloading '{uri}'");
        let Some((name, version)) = parse_data_asset(uri) else {
            return Err(BackendError::new(
                op(),
                "give a data asset (azureml:<name>:<version> or azureml:<name>@latest), a datastore URI \
                 (azureml://datastores/<datastore>/paths/<path>) or a local path",
            ));
        };
        let version = match version {
            Some(v) => v,
            None => self
                .client
                .latest_asset_version("data", &name)
                .await
                .map_err(|e| BackendError::new(op(), e))?,
        };
        let asset = self
            .client
            .get_asset_version("data", &name, &version)
            .await
            .map_err(|e| BackendError::new(op(), e))?;
        let data_uri = asset
            .pointer("/properties/dataUri")
            .and_then(serde_json::Value::as_str)
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| {
                BackendError::new(op(), format!("the data asset {name}:{version} has no dataUri"))
            })?;
        let Some((datastore, path)) = parse_datastore_uri(data_uri) else {
            return Err(BackendError::new(
                op(),
                format!(
                    "the data asset {name}:{version} points at '{data_uri}', which is not in a workspace datastore; \
                     give a local path or a datastore URI"
                ),
            ));
        };
        self.download_datastore_path(uri, &datastore, &path, dest).await
    }

    async fn deployment_exists(&self, endpoint: &str, deployment: &str) -> Result<bool, BackendError> {
        match self.client.get_online_deployment(endpoint, deployment).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(backend_error(
                format!("reading the deployment '{deployment}' of endpoint '{endpoint}'"),
                e,
            )),
        }
    }

    async fn default_blob_datastore(&self) -> Result<String, BackendError> {
        let op = "finding the workspace's default datastore (where the data collector writes)";
        let ds = self
            .client
            .get_default_datastore()
            .await
            .map_err(|e| BackendError::new(op, e))?;
        let name = ds.name.clone().unwrap_or_else(|| "workspaceblobstore".into());
        let kind = ds.properties.datastore_type.clone().unwrap_or_default();
        if !kind.eq_ignore_ascii_case("AzureBlob") || self.client.datastore_container_url(&ds).is_none() {
            return Err(BackendError::new(
                op,
                format!(
                    "the default datastore '{name}' is {}, not a blob container: the data collector writes to \
                     a blob datastore; make a blob datastore the workspace default",
                    if kind.is_empty() {
                        "of no known type".to_string()
                    } else {
                        format!("of type {kind}")
                    }
                ),
            ));
        }
        Ok(name)
    }

    async fn list_blobs(&self, datastore: &str, prefixes: &[String]) -> Result<Vec<String>, BackendError> {
        let op = || format!("listing the collected data in the datastore '{datastore}'");
        let container = self.sas_container(datastore, &op).await?;
        let mut names = Vec::new();
        for prefix in prefixes {
            names.extend(self.list_names(&container, prefix, &op).await?);
        }
        Ok(names)
    }

    async fn download_blobs(&self, datastore: &str, files: &[(String, PathBuf)]) -> Result<(), BackendError> {
        let op = || format!("downloading the collected data from the datastore '{datastore}'");
        let container = self.sas_container(datastore, &op).await?;
        for (name, target) in files {
            if !is_plain_target(target) {
                return Err(BackendError::new(
                    op(),
                    format!(
                        "the blob '{name}' would be written to '{}', which is not a plain path in the download \
                         folder",
                        target.display()
                    ),
                ));
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| BackendError::new(op(), e))?;
            }
            self.fetch_blob(&container, name, target)
                .await
                .map_err(|e| BackendError::new(format!("downloading '{name}' from '{datastore}'"), e))?;
        }
        Ok(())
    }

    async fn model_job_name(&self, name: &str, version: &str) -> Result<Option<String>, BackendError> {
        match self.client.get_model_version(name, version).await {
            Ok(m) => Ok(m.properties.job_name.filter(|j| !j.trim().is_empty())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(backend_error(format!("reading the model {name}:{version}"), e)),
        }
    }

    async fn job_inputs(&self, job: &str) -> Result<Vec<JobInput>, BackendError> {
        let j = self
            .client
            .get_job(job)
            .await
            .map_err(|e| backend_error(format!("reading the job '{job}'"), e))?;
        Ok(j.properties
            .inputs
            .unwrap_or_default()
            .into_iter()
            .map(|(name, v)| JobInput {
                name,
                kind: v["jobInputType"].as_str().unwrap_or_default().to_string(),
                uri: v["uri"]
                    .as_str()
                    .or_else(|| v["value"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            })
            .collect())
    }
}

impl AzureBackend {
    /// Download a file, or every CSV/Parquet blob under a folder, of a blob datastore through a SAS from
    /// `listSecrets`. Each blob is held in memory while it is written.
    async fn download_datastore_path(
        &self,
        uri: &str,
        datastore: &str,
        path: &str,
        dest: &Path,
    ) -> Result<PathBuf, BackendError> {
        let op = || format!("downloading '{uri}'");
        let container = self.sas_container(datastore, &op).await?;
        let path = path.trim_matches('/');
        if is_data_file(path) {
            let name = path.rsplit('/').next().unwrap_or(path);
            let target = local_path_for_blob(dest, "", name).ok_or_else(|| {
                BackendError::new(
                    op(),
                    format!("the blob name '{path}' does not end in a plain file name"),
                )
            })?;
            self.fetch_blob(&container, path, &target)
                .await
                .map_err(|e| BackendError::new(op(), e))?;
            return Ok(target);
        }
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}/")
        };
        let names = self.list_names(&container, &prefix, &op).await?;
        let mut count = 0;
        for name in names.iter().filter(|n| is_data_file(n)) {
            // A name with `..`, `\\` or a drive (`C:`) never chooses where a file lands.
            let Some(target) = local_path_for_blob(dest, &prefix, name) else {
                tracing::warn!("skipping the blob '{name}': its name is not a plain relative path");
                continue;
            };
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| BackendError::new(op(), e))?;
            }
            self.fetch_blob(&container, name, &target)
                .await
                .map_err(|e| BackendError::new(op(), e))?;
            count += 1;
        }
        if count == 0 {
            return Err(BackendError::new(
                op(),
                format!("no .csv, .parquet or .jsonl blobs under '{path}' in datastore '{datastore}'"),
            ));
        }
        tracing::debug!(uri, files = count, "downloaded datastore folder");
        Ok(dest.to_path_buf())
    }

    /// The blob container of a blob datastore, with a SAS from `listSecrets`.
    async fn sas_container(
        &self,
        datastore: &str,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<SasContainer, BackendError> {
        let ds = self
            .client
            .get_datastore(datastore)
            .await
            .map_err(|e| BackendError::new(op(), e))?;
        // Checked against the connection's storage hosts before a SAS is asked for.
        let container_url = self
            .client
            .datastore_container("data.download", &ds)
            .map_err(|e| BackendError::new(op(), e))?;
        let secrets = self
            .client
            .list_datastore_secrets(datastore, true)
            .await
            .map_err(|e| BackendError::new(op(), e))?;
        let sas = secrets
            .sas_token
            .as_deref()
            .map(|s| s.trim().trim_start_matches('?'))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                BackendError::new(
                    op(),
                    format!(
                        "the datastore '{datastore}' returned {} secrets; the gate downloads with a SAS token only",
                        secrets.secrets_type.as_ref().map(|t| t.as_str()).unwrap_or("no")
                    ),
                )
            })?;
        SasContainer::from_sas_url("data.download", &format!("{container_url}?{sas}"))
            .map_err(|e| BackendError::new(op(), e))
    }

    /// Every blob name under `prefix` (List Blobs, page by page).
    async fn list_names(
        &self,
        container: &SasContainer,
        prefix: &str,
        op: &(dyn Fn() -> String + Sync),
    ) -> Result<Vec<String>, BackendError> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut query = vec![("restype", "container"), ("comp", "list"), ("prefix", prefix)];
            if let Some(m) = &marker {
                query.push(("marker", m.as_str()));
            }
            let url = container.blob_url("", &query);
            let body = self
                .client
                .fetch_log(url.as_str(), 0)
                .await
                .map_err(|e| BackendError::new(op(), e))?;
            let (page, next) = parse_blob_list(&String::from_utf8_lossy(&body));
            names.extend(page);
            match next {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        Ok(names)
    }

    async fn fetch_blob(
        &self,
        container: &SasContainer,
        name: &str,
        target: &Path,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let bytes = self
            .client
            .fetch_log(container.blob_url(name, &[]).as_str(), 0)
            .await?;
        std::fs::write(target, &bytes).map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        Ok(())
    }
}

/// `azureml://datastores/<ds>/paths/<path>`, or the long form
/// `azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<ws>/datastores/<ds>/paths/<path>`: the datastore
/// and the path.
pub fn parse_datastore_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.trim();
    let rest = rest
        .strip_prefix("azureml://")
        .or_else(|| rest.strip_prefix("AZUREML://"))?;
    let segments: Vec<&str> = rest.split('/').collect();
    let ds = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("datastores"))?;
    let name = segments.get(ds + 1).filter(|s| !s.is_empty())?;
    if !segments.get(ds + 2)?.eq_ignore_ascii_case("paths") {
        return None;
    }
    Some((name.to_string(), segments[ds + 3..].join("/")))
}

/// A data asset reference: `azureml:<name>:<version>` (version `Some`) or `azureml:<name>@latest`
/// (version `None`).
pub fn parse_data_asset(uri: &str) -> Option<(String, Option<String>)> {
    let rest = uri.trim();
    let rest = rest
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("azureml:"))
        .map(|_| &rest[8..])?;
    if rest.starts_with('/') {
        return None;
    }
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if let Some(name) = rest.strip_suffix("@latest") {
        return valid(name).then(|| (name.to_string(), None));
    }
    let (name, version) = rest.split_once(':')?;
    (valid(name) && valid(version)).then(|| (name.to_string(), Some(version.to_string())))
}

fn is_data_file(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".csv", ".parquet", ".pq", ".jsonl", ".ndjson"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The blob names of a List Blobs page and its `NextMarker`, if any.
fn parse_blob_list(xml: &str) -> (Vec<String>, Option<String>) {
    let mut names = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<Blob>") {
        rest = &rest[start + "<Blob>".len()..];
        let end = rest.find("</Blob>").unwrap_or(rest.len());
        if let Some(name) = element(&rest[..end], "Name") {
            names.push(name);
        }
        rest = &rest[end..];
    }
    let next = element(xml, "NextMarker").filter(|m| !m.is_empty());
    (names, next)
}

fn element(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(
        xml[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datastore_uris() {
        assert_eq!(
            parse_datastore_uri("azureml://datastores/workspaceblobstore/paths/inference/day1.csv"),
            Some(("workspaceblobstore".into(), "inference/day1.csv".into()))
        );
        assert_eq!(
            parse_datastore_uri(
                "azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/ds/paths/data/train/"
            ),
            Some(("ds".into(), "data/train/".into()))
        );
        assert_eq!(parse_datastore_uri("azureml:train:1"), None);
        assert_eq!(
            parse_data_asset("azureml:train:1"),
            Some(("train".into(), Some("1".into())))
        );
        assert_eq!(
            parse_data_asset("AzureML:day-1_x@latest"),
            Some(("day-1_x".into(), None))
        );
        assert_eq!(parse_data_asset("azureml://datastores/ds/paths/x.csv"), None);
        assert_eq!(parse_data_asset("azureml:train"), None);
        assert_eq!(parse_data_asset("azureml:a b:1"), None);
        assert_eq!(parse_datastore_uri("azureml://datastores/ds/data/x.csv"), None);
        assert_eq!(parse_datastore_uri("azureml://datastores//paths/x.csv"), None);
    }

    #[test]
    fn blob_lists() {
        let xml = "<?xml version=\"1.0\"?><EnumerationResults><Blobs>\
                   <Blob><Name>in/a.csv</Name><Properties><Content-Length>3</Content-Length></Properties></Blob>\
                   <Blob><Name>in/b &amp; c.parquet</Name></Blob></Blobs><NextMarker>m2</NextMarker>\
                   </EnumerationResults>";
        let (names, next) = parse_blob_list(xml);
        assert_eq!(names, ["in/a.csv", "in/b & c.parquet"]);
        assert_eq!(next.as_deref(), Some("m2"));
        let (names, next) = parse_blob_list("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>");
        assert!(names.is_empty() && next.is_none());
    }
}
