//! The registration flow over a [`RegisterApi`]: idempotency check, version choice, uploads, metrics, the PUT.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use amlops_agent::{Output, PipelineContext};
use amlops_spec::{
    AssetType, Kind, OfflineResolver, PathSegment, Plan, PlanOptions, PrecomputedResolver, RestRequest,
    Scope, SetOverride, UploadOutcome, UploadRole, plan_file,
};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::api::{AssetVersion, RegisterApi};
use crate::client_api::ClientHashes;
use crate::error::{RegisterError, api_err};
use crate::governance::{self, GovernanceRecord, sha256_hex};
use crate::inputs::{ModelSource, ModelType, RegisterInputs, Target, check_mlflow_folder, check_version};

/// What the upload of local files did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadNote {
    /// The local path.
    pub local: String,
    /// Files uploaded (0 when skipped).
    pub files_uploaded: usize,
    /// Whether the files were already in the datastore.
    pub skipped: bool,
}

/// The result of a registration.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// The asset type.
    pub asset: AssetType,
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The ARM id of the version.
    pub id: String,
    /// For models: where the files are (`modelUri`).
    pub artifact_uri: Option<String>,
    /// Whether an earlier attempt of this step had registered it (nothing was created).
    pub reused: bool,
    /// Local uploads.
    pub uploads: Vec<UploadNote>,
    /// The training job.
    pub source_job: Option<String>,
    /// The metrics copied as properties.
    pub metrics: Vec<(String, f64)>,
    /// The governance record (for a reused version: the record of this attempt; `properties` holds the stored
    /// one).
    pub record: GovernanceRecord,
    /// The version's properties as written (or as found).
    pub properties: BTreeMap<String, String>,
    /// Warnings (e.g. metrics that could not be read).
    pub warnings: Vec<String>,
}

/// One run of the registration.
pub struct Register<'a> {
    /// Log output.
    pub output: &'a Output,
    /// The pipeline run.
    pub pipeline: &'a PipelineContext,
    /// The validated inputs.
    pub inputs: &'a RegisterInputs,
    /// The operations.
    pub api: &'a dyn RegisterApi,
    /// The workspace.
    pub scope: Scope,
    /// The time of registration.
    pub now: OffsetDateTime,
}

/// Why an existing version is reused: registered by an earlier attempt of this step of this run, or (a fixed
/// version) holding the same content already.
pub fn reuse_note(stored: &BTreeMap<String, String>, record: &GovernanceRecord) -> String {
    let build = stored.get(governance::BUILD_ID);
    let same_run = build.is_some() && build == record.build_id.as_ref();
    let same_step = stored.get(governance::STEP) == Some(&record.step);
    match build {
        _ if same_run && same_step => {
            "was already registered by an earlier attempt of this step of this run".into()
        }
        Some(b) => format!("already holds the same content (registered by build {b})"),
        None => "already holds the same content".into(),
    }
}

/// The asset type of a plan's kind, or the unsupported kind's name.
pub fn asset_type(kind: Kind) -> Result<AssetType, String> {
    match kind {
        Kind::Model => Ok(AssetType::Model),
        Kind::Environment => Ok(AssetType::Environment),
        Kind::Component => Ok(AssetType::Component),
        Kind::Data => Ok(AssetType::Data),
        other => Err(other.as_str().to_string()),
    }
}

/// The kind of an asset YAML without `$schema`, guessed from its fields: `image`/`build`/`conda_file` is an
/// environment, a model `type` (or a `path` without `type`) a model, a data `type` data, `command`/`jobs` a
/// component. `None`: let the spec crate decide (it reads `$schema`).
pub fn guess_kind(doc: &Value) -> Option<Kind> {
    let m = doc.as_object()?;
    if m.contains_key("$schema") {
        return None;
    }
    let ty = m.get("type").and_then(Value::as_str).map(str::to_ascii_lowercase);
    if m.contains_key("image") || m.contains_key("build") || m.contains_key("conda_file") {
        return Some(Kind::Environment);
    }
    match ty.as_deref() {
        Some("custom_model" | "mlflow_model" | "triton_model") => return Some(Kind::Model),
        Some("uri_file" | "uri_folder" | "mltable") => return Some(Kind::Data),
        Some("command" | "pipeline" | "parallel" | "spark") => return Some(Kind::Component),
        _ => {}
    }
    if m.contains_key("command") || m.contains_key("jobs") {
        return Some(Kind::Component);
    }
    if m.contains_key("path") && ty.is_none() {
        return Some(Kind::Model);
    }
    None
}

fn string_override(key: &str, value: &str) -> SetOverride {
    SetOverride {
        path: vec![PathSegment::Key(key.to_string())],
        value: Value::String(value.to_string()),
        expression: format!("{key}={value}"),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The content hash of rendered requests: dependencies by path and body, the main request by body only (its path
/// carries the version).
pub fn requests_hash(requests: &[RestRequest]) -> String {
    let mut text = String::new();
    let n = requests.len();
    for (i, r) in requests.iter().enumerate() {
        if i + 1 < n {
            text.push_str(&r.path);
            text.push('\n');
        }
        text.push_str(&r.body.to_string());
        text.push('\n');
    }
    sha256_hex(&text)
}

fn merge_into(body: &mut Value, key: &str, values: &BTreeMap<String, String>) {
    let Some(props) = body["properties"].as_object_mut() else {
        return;
    };
    let entry = props
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Some(map) = entry.as_object_mut() {
        for (k, v) in values {
            map.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

impl Register<'_> {
    /// Register what the inputs name.
    pub async fn run(&self) -> Result<Registered, RegisterError> {
        match &self.inputs.target {
            Target::Model {
                name,
                source,
                model_type,
            } => self.model(name, source, *model_type).await,
            Target::AssetFile(file) => self.asset_file(file).await,
        }
    }

    fn record(&self, source_job: Option<&str>) -> GovernanceRecord {
        GovernanceRecord::new(self.pipeline, self.inputs.reason.as_deref(), source_job, self.now)
    }

    fn arm_id(&self, asset: AssetType, name: &str, version: &str) -> String {
        self.scope.asset_id(asset.collection(), name, Some(version))
    }

    /// The version this step of this run registered before, if any. With an explicit version that exists: the
    /// same content is that version again; other content is an error (versions are immutable).
    async fn existing(
        &self,
        asset: AssetType,
        name: &str,
        explicit: Option<&str>,
        key: Option<&str>,
        content_hash: &str,
    ) -> Result<Option<AssetVersion>, RegisterError> {
        let what = format!("{} '{name}'", asset.collection());
        if let Some(v) = explicit {
            let found = self
                .api
                .get_version(asset, name, v)
                .await
                .map_err(api_err(format!("cannot look up version '{v}' of {what}")))?;
            return match found {
                None => Ok(None),
                Some(found)
                    if found.properties.get(governance::CONTENT_HASH).map(String::as_str)
                        == Some(content_hash) =>
                {
                    Ok(Some(found))
                }
                Some(found) => Err(RegisterError::VersionExists {
                    collection: asset.collection().into(),
                    name: name.into(),
                    version: v.into(),
                    by: found
                        .properties
                        .get(governance::BUILD_ID)
                        .map(|b| format!(" (registered by build {b}, with other content)"))
                        .unwrap_or_else(|| " with other content".into()),
                }),
            };
        }
        let Some(key) = key else {
            return Ok(None);
        };
        let all = self
            .api
            .list_versions(asset, name)
            .await
            .map_err(api_err(format!("cannot list the versions of {what}")))?;
        Ok(all
            .into_iter()
            .find(|v| v.properties.get(governance::IDEMPOTENCY_KEY).map(String::as_str) == Some(key)))
    }

    async fn choose_version(
        &self,
        asset: AssetType,
        name: &str,
        explicit: Option<&str>,
    ) -> Result<String, RegisterError> {
        if let Some(v) = explicit {
            return Ok(v.to_string());
        }
        let next = self.api.next_version(asset, name).await.map_err(api_err(format!(
            "cannot read the next version of {} '{name}'",
            asset.collection()
        )))?;
        Ok(next.unwrap_or_else(|| "1".to_string()))
    }

    async fn metrics(&self, job: Option<&str>, warnings: &mut Vec<String>) -> Vec<(String, f64)> {
        let Some(job) = job else {
            return Vec::new();
        };
        match self.api.job_metrics(job).await {
            Ok(m) => {
                if m.is_empty() {
                    self.output
                        .line(&format!("The job '{job}' has no MLflow metrics to copy."));
                }
                m
            }
            Err(e) => {
                let w = format!(
                    "cannot read the metrics of the job '{job}'; they are not copied onto the asset: {e}"
                );
                self.output.log_issue(&amlops_agent::Issue::warning(&w));
                warnings.push(w);
                Vec::new()
            }
        }
    }

    fn reused(&self, asset: AssetType, found: AssetVersion, record: GovernanceRecord) -> Registered {
        let note = reuse_note(&found.properties, &record);
        self.output.line(&format!(
            "The {} '{}' version '{}' {note}; not registering it again.",
            crate::asset_label(asset),
            found.name,
            found.version
        ));
        let id = found
            .id
            .clone()
            .unwrap_or_else(|| self.arm_id(asset, &found.name, &found.version));
        let metrics = found
            .properties
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_prefix(governance::METRIC_PREFIX)?.to_string(),
                    v.parse().ok()?,
                ))
            })
            .collect();
        Registered {
            asset,
            name: found.name.clone(),
            version: found.version.clone(),
            id,
            artifact_uri: found.model_uri.clone(),
            reused: true,
            uploads: Vec::new(),
            source_job: found.properties.get(governance::SOURCE_JOB).cloned(),
            metrics,
            record,
            properties: found.properties,
            warnings: Vec::new(),
        }
    }

    fn properties(
        &self,
        record: &GovernanceRecord,
        metrics: &[(String, f64)],
        content_hash: &str,
        key: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut props = self.inputs.properties.clone();
        props.extend(governance::metric_properties(metrics));
        props.extend(record.properties());
        props.insert(governance::CONTENT_HASH.into(), content_hash.into());
        if let Some(k) = key {
            props.insert(governance::IDEMPOTENCY_KEY.into(), k.into());
        }
        props
    }

    async fn model(
        &self,
        name: &str,
        source: &ModelSource,
        model_type: ModelType,
    ) -> Result<Registered, RegisterError> {
        let source_job = self
            .inputs
            .job_name
            .as_deref()
            .or(source.job())
            .map(str::to_string);
        let record = self.record(source_job.as_deref());
        let content_hash = match source {
            ModelSource::LocalFile(p) | ModelSource::LocalFolder(p) => amlops_azureml::upload::object_hash(p)
                .map_err(api_err(format!("cannot hash '{}'", p.display())))?,
            ModelSource::JobOutput { uri, .. } | ModelSource::Remote(uri) => sha256_hex(uri),
        };
        let kind_key = format!("models/{model_type}");
        let key = record.idempotency_key(&kind_key, name, &content_hash);
        let explicit = self.inputs.version.as_deref();
        if let Some(found) = self
            .existing(AssetType::Model, name, explicit, key.as_deref(), &content_hash)
            .await?
        {
            return Ok(self.reused(AssetType::Model, found, record));
        }
        let version = self.choose_version(AssetType::Model, name, explicit).await?;
        let mut uploads = Vec::new();
        let model_uri = match source {
            ModelSource::LocalFile(p) | ModelSource::LocalFolder(p) => {
                self.output.line(&format!("Uploading {} ...", p.display()));
                let up = self
                    .api
                    .upload(p, (name, &version))
                    .await
                    .map_err(api_err(format!("cannot upload '{}'", p.display())))?;
                self.output.line(&if up.reused {
                    format!(
                        "The files are already in the datastore ({}); nothing uploaded.",
                        up.path
                    )
                } else {
                    format!("Uploaded {} file(s) to {}.", up.files_uploaded, up.path)
                });
                uploads.push(UploadNote {
                    local: p.display().to_string(),
                    files_uploaded: up.files_uploaded,
                    skipped: up.reused,
                });
                up.uri
            }
            ModelSource::JobOutput { uri, .. } | ModelSource::Remote(uri) => uri.clone(),
        };
        let mut warnings = Vec::new();
        let metrics = self.metrics(source_job.as_deref(), &mut warnings).await;
        let props = self.properties(&record, &metrics, &content_hash, key.as_deref());
        let mut p = Map::new();
        p.insert("modelType".into(), json!(model_type.as_str()));
        p.insert("modelUri".into(), json!(model_uri));
        if let Some(d) = &self.inputs.description {
            p.insert("description".into(), json!(d));
        }
        p.insert("tags".into(), json!(self.inputs.tags));
        p.insert("properties".into(), json!(props));
        if let Some(j) = &source_job {
            p.insert("jobName".into(), json!(j));
        }
        let body = json!({ "properties": p });
        self.output.line(&format!(
            "Registering the model '{name}' version '{version}' ({model_type}) from {model_uri}"
        ));
        let created = self
            .api
            .put_model_version(name, &version, &body)
            .await
            .map_err(api_err(format!(
                "cannot register the model '{name}' version '{version}'"
            )))?;
        Ok(Registered {
            asset: AssetType::Model,
            name: name.to_string(),
            version: version.clone(),
            id: created
                .id
                .unwrap_or_else(|| self.arm_id(AssetType::Model, name, &version)),
            artifact_uri: Some(model_uri),
            reused: false,
            uploads,
            source_job,
            metrics,
            record,
            properties: props,
            warnings,
        })
    }

    fn plan(&self, file: &Path, kind: Option<Kind>, version: Option<&str>) -> Result<Plan, RegisterError> {
        let options = PlanOptions {
            kind,
            overrides: version
                .map(|v| vec![string_override("version", v)])
                .unwrap_or_default(),
            scope: self.scope.clone(),
            ..PlanOptions::default()
        };
        plan_file(file, options).map_err(RegisterError::Spec)
    }

    async fn asset_file(&self, file: &Path) -> Result<Registered, RegisterError> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            RegisterError::Spec(amlops_spec::SpecError::Io {
                file: file.to_path_buf(),
                source: e,
            })
        })?;
        let hint = amlops_spec::yaml::parse_yaml(&text, file)
            .ok()
            .as_ref()
            .and_then(guess_kind);
        let first = self.plan(file, hint, None)?;
        let asset = asset_type(first.kind()).map_err(|kind| RegisterError::UnsupportedKind {
            file: file.to_path_buf(),
            kind,
        })?;
        let doc = first.document();
        let name = doc["name"].as_str().map(str::to_string).ok_or_else(|| {
            RegisterError::Spec(amlops_spec::SpecError::Schema {
                file: file.to_path_buf(),
                location: None,
                field: "name".into(),
                message: "an asset to register needs a name".into(),
            })
        })?;
        let yaml_version = scalar(&doc["version"]);
        if let Some(v) = &yaml_version {
            check_version("assetFile (version:)", v)?;
        }
        let explicit = self.inputs.version.clone().or(yaml_version);
        let is_mlflow = asset == AssetType::Model
            && doc["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case("mlflow_model"));
        if is_mlflow {
            for u in first.uploads().iter().filter(|u| u.role == UploadRole::Model) {
                check_mlflow_folder(&u.local_path)?;
            }
        }
        let offline = first
            .render(&mut OfflineResolver::new(std::sync::Arc::new(ClientHashes)))
            .map_err(RegisterError::Spec)?;
        let content_hash = requests_hash(&offline);
        let source_job = self.inputs.job_name.clone().or_else(|| scalar(&doc["job_name"]));
        let record = self.record(source_job.as_deref());
        let key = record.idempotency_key(asset.collection(), &name, &content_hash);
        if let Some(found) = self
            .existing(asset, &name, explicit.as_deref(), key.as_deref(), &content_hash)
            .await?
        {
            return Ok(self.reused(asset, found, record));
        }
        let version = self.choose_version(asset, &name, explicit.as_deref()).await?;
        let plan = self.plan(file, Some(first.kind()), Some(&version))?;
        let mut resolved = PrecomputedResolver {
            uploads: HashMap::new(),
            latest: HashMap::new(),
        };
        let mut uploads = Vec::new();
        for upload in plan.uploads() {
            self.output
                .line(&format!("Uploading {} ...", upload.local_path.display()));
            let context = format!("cannot upload '{}'", upload.local_path.display());
            let outcome = if upload.role.is_code() {
                let out = self.api.upload_code(upload).await.map_err(api_err(context))?;
                uploads.push(UploadNote {
                    local: upload.local_path.display().to_string(),
                    files_uploaded: 0,
                    skipped: false,
                });
                out
            } else {
                let up = self
                    .api
                    .upload(&upload.local_path, (&name, &version))
                    .await
                    .map_err(api_err(context))?;
                uploads.push(UploadNote {
                    local: upload.local_path.display().to_string(),
                    files_uploaded: up.files_uploaded,
                    skipped: up.reused,
                });
                UploadOutcome::Blob {
                    datastore: up.datastore,
                    account: up.account,
                    container: up.container,
                    path: up.path,
                    hash: up.hash,
                }
            };
            resolved.uploads.insert(upload.index, outcome);
        }
        for lookup in plan.lookups() {
            let Some(a) = AssetType::from_collection(lookup.collection) else {
                continue;
            };
            let v = self
                .api
                .latest_version(a, &lookup.name)
                .await
                .map_err(api_err(format!(
                    "cannot find the latest version of '{}'",
                    lookup.name
                )))?;
            resolved
                .latest
                .insert((lookup.collection.to_string(), lookup.name.clone()), v);
        }
        let mut requests = plan.render(&mut resolved).map_err(RegisterError::Spec)?;
        let Some(mut main) = requests.pop() else {
            return Err(RegisterError::Setup(format!(
                "'{}' gave no request to send",
                file.display()
            )));
        };
        // The client created (or found) the code versions of the uploads already; their rendered PUTs are
        // not repeated (as AzureMLTrain does).
        let requests = resolved.without_uploaded_code(requests);
        for dep in &requests {
            self.output.line(&format!("Creating {}", dep.path));
            self.api
                .send(dep)
                .await
                .map_err(api_err(format!("cannot create {}", dep.path)))?;
        }
        let mut warnings = Vec::new();
        let metrics = if asset == AssetType::Model {
            self.metrics(source_job.as_deref(), &mut warnings).await
        } else {
            Vec::new()
        };
        let props = self.properties(&record, &metrics, &content_hash, key.as_deref());
        merge_into(&mut main.body, "properties", &props);
        merge_into(&mut main.body, "tags", &self.inputs.tags);
        if let Some(p) = main.body["properties"].as_object_mut() {
            if let Some(d) = &self.inputs.description {
                p.insert("description".into(), json!(d));
            }
            if asset == AssetType::Model
                && let Some(j) = &source_job
            {
                p.entry("jobName").or_insert_with(|| json!(j));
            }
        }
        self.output.line(&format!(
            "Registering the {} '{name}' version '{version}' from {}",
            crate::asset_label(asset),
            file.display()
        ));
        let created = self.api.send(&main).await.map_err(api_err(format!(
            "cannot register {} '{name}' version '{version}'",
            asset.collection()
        )))?;
        let stored: BTreeMap<String, String> = main.body["properties"]["properties"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Registered {
            asset,
            name: name.clone(),
            version: version.clone(),
            id: created["id"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| main.path.clone()),
            artifact_uri: main.body["properties"]["modelUri"].as_str().map(str::to_string),
            reused: false,
            uploads,
            source_job,
            metrics,
            record,
            properties: stored,
            warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Uploaded;
    use amlops_azureml::AzureMlError;
    use amlops_spec::Upload;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// A workspace in memory that records the calls made.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        next: Option<String>,
        versions: Vec<AssetVersion>,
        bodies: Mutex<Vec<Value>>,
    }

    impl Fake {
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl RegisterApi for Fake {
        async fn next_version(&self, a: AssetType, name: &str) -> Result<Option<String>, AzureMlError> {
            self.log(format!("next {}/{name}", a.collection()));
            Ok(self.next.clone())
        }
        async fn latest_version(&self, a: AssetType, name: &str) -> Result<String, AzureMlError> {
            self.log(format!("latest {}/{name}", a.collection()));
            Ok("1".into())
        }
        async fn get_version(
            &self,
            a: AssetType,
            n: &str,
            v: &str,
        ) -> Result<Option<AssetVersion>, AzureMlError> {
            self.log(format!("get {}/{n}/{v}", a.collection()));
            Ok(self.versions.iter().find(|x| x.version == v).cloned())
        }
        async fn list_versions(&self, a: AssetType, name: &str) -> Result<Vec<AssetVersion>, AzureMlError> {
            self.log(format!("list {}/{name}", a.collection()));
            Ok(self.versions.clone())
        }
        async fn put_model_version(
            &self,
            n: &str,
            v: &str,
            body: &Value,
        ) -> Result<AssetVersion, AzureMlError> {
            self.log(format!("put models/{n}/{v}"));
            self.bodies.lock().unwrap().push(body.clone());
            Ok(AssetVersion::default())
        }
        async fn send(&self, r: &RestRequest) -> Result<Value, AzureMlError> {
            self.log(format!("send {}", r.path));
            Ok(Value::Null)
        }
        async fn upload(&self, p: &Path, _: (&str, &str)) -> Result<Uploaded, AzureMlError> {
            self.log(format!("upload {}", p.display()));
            Err(AzureMlError::invalid_input("upload", "not in this fake"))
        }
        async fn upload_code(&self, u: &Upload) -> Result<UploadOutcome, AzureMlError> {
            self.log(format!("code {}", u.local_path.display()));
            Err(AzureMlError::invalid_input("upload", "not in this fake"))
        }
        async fn job_metrics(&self, job: &str) -> Result<Vec<(String, f64)>, AzureMlError> {
            self.log(format!("metrics {job}"));
            Ok(vec![("auc".into(), 0.5)])
        }
    }

    const URI: &str = "azureml://datastores/workspaceblobstore/paths/m";

    fn inputs(version: Option<&str>) -> RegisterInputs {
        RegisterInputs {
            resource_group: "rg".into(),
            workspace: "mlw".into(),
            target: Target::Model {
                name: "churn".into(),
                source: ModelSource::Remote(URI.into()),
                model_type: ModelType::Custom,
            },
            version: version.map(str::to_string),
            description: None,
            tags: BTreeMap::new(),
            properties: BTreeMap::new(),
            reason: None,
            job_name: None,
        }
    }

    async fn register(api: &Fake, pipeline: &PipelineContext, inputs: &RegisterInputs) -> Registered {
        let (output, _) = Output::capture(false);
        Register {
            output: &output,
            pipeline,
            inputs,
            api,
            scope: Scope::placeholder(),
            now: OffsetDateTime::UNIX_EPOCH,
        }
        .run()
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn outside_a_pipeline_every_run_registers_a_new_version() {
        let api = Fake::default();
        let r = register(&api, &PipelineContext::default(), &inputs(None)).await;
        assert_eq!(api.calls(), ["next models/churn", "put models/churn/1"]);
        assert_eq!((r.version.as_str(), r.reused), ("1", false));
        let body = api.bodies.lock().unwrap()[0].clone();
        let props = &body["properties"]["properties"];
        assert_eq!(props[governance::STEP], "local");
        assert_eq!(props[governance::REASON], "not given");
        assert!(props.get(governance::IDEMPOTENCY_KEY).is_none(), "{props}");
    }

    #[tokio::test]
    async fn in_a_pipeline_the_key_finds_the_earlier_version() {
        let pipeline = PipelineContext {
            build_id: Some("9".into()),
            step_name: Some("register".into()),
            ..PipelineContext::default()
        };
        let record = GovernanceRecord::new(&pipeline, None, None, OffsetDateTime::now_utc());
        let key = record
            .idempotency_key("models/custom_model", "churn", &sha256_hex(URI))
            .unwrap();
        let found = AssetVersion {
            name: "churn".into(),
            version: "4".into(),
            properties: [(governance::IDEMPOTENCY_KEY.to_string(), key)]
                .into_iter()
                .collect(),
            ..AssetVersion::default()
        };
        let api = Fake {
            versions: vec![found],
            next: Some("5".into()),
            ..Fake::default()
        };
        let r = register(&api, &pipeline, &inputs(None)).await;
        assert_eq!(api.calls(), ["list models/churn"]);
        assert_eq!((r.version.as_str(), r.reused), ("4", true));
        // An explicit version that does not exist yet is created without listing.
        let api = Fake::default();
        let r = register(&api, &pipeline, &inputs(Some("8"))).await;
        assert_eq!(api.calls(), ["get models/churn/8", "put models/churn/8"]);
        assert!(!r.reused);
    }

    #[test]
    fn kinds_are_guessed_without_schema() {
        let g = |y: Value| guess_kind(&y);
        assert_eq!(
            g(json!({"name":"e","image":"python:3.11"})),
            Some(Kind::Environment)
        );
        assert_eq!(
            g(json!({"name":"e","build":{"path":"ctx"}})),
            Some(Kind::Environment)
        );
        assert_eq!(
            g(json!({"name":"m","type":"mlflow_model","path":"m"})),
            Some(Kind::Model)
        );
        assert_eq!(g(json!({"name":"m","path":"m"})), Some(Kind::Model));
        assert_eq!(
            g(json!({"name":"d","type":"uri_folder","path":"d"})),
            Some(Kind::Data)
        );
        assert_eq!(
            g(json!({"name":"c","type":"command","command":"python x.py"})),
            Some(Kind::Component)
        );
        assert_eq!(g(json!({"$schema":"x","image":"y"})), None);
        assert_eq!(g(json!({"name":"x"})), None);
        assert!(asset_type(Kind::Job).is_err());
        assert_eq!(asset_type(Kind::Data), Ok(AssetType::Data));
    }

    #[test]
    fn request_hash_ignores_the_main_path() {
        let r = |path: &str, body: Value| RestRequest {
            method: "PUT".into(),
            path: path.into(),
            api_version: "x".into(),
            body,
        };
        let a = requests_hash(&[r("/dep/1", json!({"a":1})), r("/m/versions/1", json!({"b":2}))]);
        let b = requests_hash(&[r("/dep/1", json!({"a":1})), r("/m/versions/2", json!({"b":2}))]);
        let c = requests_hash(&[r("/dep/2", json!({"a":1})), r("/m/versions/1", json!({"b":2}))]);
        let d = requests_hash(&[r("/dep/1", json!({"a":1})), r("/m/versions/1", json!({"b":3}))]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn merges_properties_and_tags() {
        let mut body = json!({"properties":{"tags":{"a":"1"}}});
        merge_into(
            &mut body,
            "tags",
            &[("b".to_string(), "2".to_string())].into_iter().collect(),
        );
        merge_into(
            &mut body,
            "properties",
            &[("k".to_string(), "v".to_string())].into_iter().collect(),
        );
        assert_eq!(
            body,
            json!({"properties":{"tags":{"a":"1","b":"2"},"properties":{"k":"v"}}})
        );
    }
}
