//! The Azure ML operations the flow needs, behind a trait ([`RegisterApi`]) so the flow can run against a fake;
//! [`crate::client_api::ClientRegisterApi`] implements it with the client crate.

use std::collections::BTreeMap;
use std::path::Path;

use amlops_azureml::AzureMlError;
use amlops_spec::{AssetType, RestRequest, Upload, UploadOutcome};
use async_trait::async_trait;
use serde_json::Value;

/// A registered version, as far as the flow cares.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssetVersion {
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The ARM id.
    pub id: Option<String>,
    /// `properties.properties`.
    pub properties: BTreeMap<String, String>,
    /// `properties.modelUri` (models).
    pub model_uri: Option<String>,
}

impl AssetVersion {
    /// Read a version resource (`{"id","name","properties":{"properties":{...},"modelUri"}}`); the version is the
    /// resource's `name`, else `fallback_version`.
    pub fn from_json(name: &str, fallback_version: &str, v: &Value) -> Self {
        let p = &v["properties"];
        let properties = p["properties"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let text = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), text)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let s = |x: &Value| x.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Self {
            name: name.to_string(),
            version: s(&v["name"]).unwrap_or_else(|| fallback_version.to_string()),
            id: s(&v["id"]),
            properties,
            model_uri: s(&p["modelUri"]),
        }
    }
}

/// A local file or folder uploaded to the default datastore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// `azureml://subscriptions/.../datastores/{ds}/paths/{path}`: the file itself for a file.
    pub uri: String,
    /// The datastore.
    pub datastore: String,
    /// Its storage account.
    pub account: String,
    /// Its container.
    pub container: String,
    /// The blob path (`LocalUpload/{hash}/{name}`; for a single file, `name` is the file).
    pub path: String,
    /// The object hash.
    pub hash: String,
    /// Whether the files were already there (nothing uploaded).
    pub reused: bool,
    /// Files uploaded.
    pub files_uploaded: usize,
}

/// The operations of the register flow.
#[async_trait]
pub trait RegisterApi: Send + Sync {
    /// The container's next free version; `None` when the container does not exist yet.
    async fn next_version(&self, asset: AssetType, name: &str) -> Result<Option<String>, AzureMlError>;

    /// The latest version (`name@latest` in asset YAMLs).
    async fn latest_version(&self, asset: AssetType, name: &str) -> Result<String, AzureMlError>;

    /// One version; `None` when it does not exist.
    async fn get_version(
        &self,
        asset: AssetType,
        name: &str,
        version: &str,
    ) -> Result<Option<AssetVersion>, AzureMlError>;

    /// Every version (empty when the container does not exist).
    async fn list_versions(&self, asset: AssetType, name: &str) -> Result<Vec<AssetVersion>, AzureMlError>;

    /// PUT a model version (`{"properties":{...}}`).
    async fn put_model_version(
        &self,
        name: &str,
        version: &str,
        body: &Value,
    ) -> Result<AssetVersion, AzureMlError>;

    /// Send a request rendered from an asset YAML.
    async fn send(&self, request: &RestRequest) -> Result<Value, AzureMlError>;

    /// Upload a local file or folder to the default datastore (content-hash dedupe).
    async fn upload(&self, path: &Path, asset: (&str, &str)) -> Result<Uploaded, AzureMlError>;

    /// Upload a `code:` snapshot of an asset YAML (a code version).
    async fn upload_code(&self, upload: &Upload) -> Result<UploadOutcome, AzureMlError>;

    /// The final metrics of a job (MLflow); empty when the run is unknown.
    async fn job_metrics(&self, job: &str) -> Result<Vec<(String, f64)>, AzureMlError>;
}
