//! The two-phase API: [`plan_file`]/[`plan_str`] (phase 1) and [`Plan::render`] (phase 2).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use crate::convert::{self, Ctx};
use crate::error::{Result, SpecError};
use crate::refs::{AssetType, Scope};
use crate::yaml::{SetOverride, apply_overrides, parse_yaml};

/// The kind of an `az ml` YAML file (what `az ml <kind> create` it belongs to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Any job (command, sweep, pipeline, spark, automl).
    Job,
    /// A component (command, pipeline, parallel, spark).
    Component,
    /// A model asset.
    Model,
    /// An environment asset.
    Environment,
    /// A data asset.
    Data,
    /// A managed or Kubernetes online endpoint.
    OnlineEndpoint,
    /// A managed or Kubernetes online deployment.
    OnlineDeployment,
    /// A batch endpoint.
    BatchEndpoint,
    /// A batch deployment (model or pipeline component).
    BatchDeployment,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 9] = [
        Kind::Job,
        Kind::Component,
        Kind::Model,
        Kind::Environment,
        Kind::Data,
        Kind::OnlineEndpoint,
        Kind::OnlineDeployment,
        Kind::BatchEndpoint,
        Kind::BatchDeployment,
    ];

    /// The kebab-case name (`online-deployment`), as the oracle and `--kind` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Job => "job",
            Kind::Component => "component",
            Kind::Model => "model",
            Kind::Environment => "environment",
            Kind::Data => "data",
            Kind::OnlineEndpoint => "online-endpoint",
            Kind::OnlineDeployment => "online-deployment",
            Kind::BatchEndpoint => "batch-endpoint",
            Kind::BatchDeployment => "batch-deployment",
        }
    }

    /// The kind named by a `$schema` URL (`.../commandJob.schema.json` → job), if recognised.
    pub fn from_schema_url(url: &str) -> Option<Kind> {
        let file = url.rsplit('/').next()?.to_ascii_lowercase();
        let stem = file
            .strip_suffix(".schema.json")
            .or_else(|| file.strip_suffix(".json"))?;
        Some(match stem {
            s if s.ends_with("job") => Kind::Job,
            s if s.ends_with("component") => Kind::Component,
            "model" => Kind::Model,
            "environment" => Kind::Environment,
            "data" => Kind::Data,
            s if s.ends_with("onlineendpoint") => Kind::OnlineEndpoint,
            s if s.ends_with("onlinedeployment") => Kind::OnlineDeployment,
            s if s.ends_with("batchendpoint") => Kind::BatchEndpoint,
            s if s.ends_with("batchdeployment") => Kind::BatchDeployment,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!(
                "unknown kind `{s}` (expected one of: {})",
                Kind::ALL.map(Kind::as_str).join(", ")
            )
        })
    }
}

/// Inputs of phase 1 besides the file.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Kind given by the caller (the task or `--kind`); wins over `$schema`.
    pub kind: Option<Kind>,
    /// `--set` overrides, applied in order before anything else.
    pub overrides: Vec<SetOverride>,
    /// Target workspace.
    pub scope: Scope,
    /// Name for a job without `name:` (the SDK generates one; the oracle uses
    /// `oracle_generated_job_name`). Also used as default display name.
    pub job_name: Option<String>,
    /// Tags merged into the main resource's tags (jobs, endpoints, deployments); on a key
    /// conflict these win over the YAML's tags.
    pub tags: BTreeMap<String, String>,
    /// `--name`: overrides the resource name.
    pub name: Option<String>,
    /// `--endpoint-name`: for deployments.
    pub endpoint_name: Option<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            kind: None,
            overrides: Vec::new(),
            scope: Scope::placeholder(),
            job_name: None,
            tags: BTreeMap::new(),
            name: None,
            endpoint_name: None,
        }
    }
}

/// Why a local path must be uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadRole {
    /// A code snapshot (`code:`): a code asset through `codes/.../startPendingUpload`.
    Code,
    /// A local job input (`inputs.x.path`): datastore `LocalUpload/<hash>/<basename>`.
    JobInput,
    /// A model's `path:` (model asset or a deployment's inline model).
    Model,
    /// A data asset's `path:`.
    Data,
    /// An environment's Docker build context (`build.path`).
    BuildContext,
}

impl UploadRole {
    /// Whether the upload is a code snapshot (else a datastore artifact).
    pub fn is_code(self) -> bool {
        self == UploadRole::Code
    }
}

/// One local path the plan needs uploaded before rendering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upload {
    /// Position in [`Plan::uploads`].
    pub index: usize,
    /// Why it is uploaded.
    pub role: UploadRole,
    /// The path as resolved against the YAML file's folder.
    pub local_path: PathBuf,
    /// The path relative to the YAML file's folder, normalised (`../model/`, `./src` → `../model`, `src`).
    pub rel_path: String,
    /// Last component of the path (the folder/file name kept under the upload prefix);
    /// `code_with_additional_includes` when `additional_includes` is not empty.
    pub basename: String,
    /// For code snapshots of components with `additional_includes`: the extra files/folders
    /// (resolved like `local_path`) that the snapshot must contain next to the code folder's content.
    pub additional_includes: Vec<PathBuf>,
}

/// What an upload produced (given back to [`Plan::render`] by a [`Resolver`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadOutcome {
    /// A code asset version.
    Code {
        /// Code asset name (the SDK uses a uuid4 for new snapshots).
        name: String,
        /// Version (`1` for new snapshots).
        version: String,
        /// The blob folder URL (`codeUri`).
        code_uri: String,
        /// Content hash (hash version 202208).
        hash: String,
    },
    /// Files uploaded to a datastore.
    Blob {
        /// Datastore name (`workspaceblobstore`).
        datastore: String,
        /// Storage account of the datastore.
        account: String,
        /// Container of the datastore.
        container: String,
        /// Blob path `LocalUpload/<hash>/<basename>`.
        path: String,
        /// Content hash (names anonymous models and build-context environment versions).
        hash: String,
    },
}

/// A workspace lookup the plan needs (resolving `name@latest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// Asset collection (`environments`, `models`, `data`, `components`).
    pub collection: &'static str,
    /// Asset name.
    pub name: String,
}

/// Supplies phase 2 with upload results and `@latest` versions.
pub trait Resolver {
    /// The outcome of an upload listed in [`Plan::uploads`].
    fn upload(&mut self, upload: &Upload) -> std::result::Result<UploadOutcome, String>;
    /// The latest version of a workspace asset (`name@latest`).
    fn latest_version(&mut self, asset: AssetType, name: &str) -> std::result::Result<String, String>;
    /// The name of an asset the SDK registers anonymously under a random name, version `1`
    /// (`Asset.__init__` with neither name nor version: `_get_random_name()`, a uuid4): data assets
    /// without `name`, inline environments whose version no image or local build context names.
    /// A uuid4 by default; a resolver replaying recorded requests may answer the recorded name.
    fn anonymous_name(&mut self, _asset: AssetType) -> String {
        uuid::Uuid::new_v4().to_string()
    }
}

/// One REST call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestRequest {
    /// HTTP method (`PUT`).
    pub method: String,
    /// ARM path, without host and api-version.
    pub path: String,
    /// The api-version the SDK uses for this call.
    pub api_version: String,
    /// JSON body.
    pub body: Value,
}

/// Phase-1 result: the parsed, overridden, validated document and what it needs uploaded.
#[derive(Debug, Clone)]
pub struct Plan {
    kind: Kind,
    file: PathBuf,
    text: String,
    doc: Value,
    options: PlanOptions,
    uploads: Vec<Upload>,
    lookups: Vec<Lookup>,
}

/// Reads and plans a YAML file.
pub fn plan_file(path: &Path, options: PlanOptions) -> Result<Plan> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    plan_str(&text, path, options)
}

/// Plans YAML text; `path` names the file (errors) and its folder anchors relative paths.
pub fn plan_str(text: &str, path: &Path, options: PlanOptions) -> Result<Plan> {
    let mut doc = parse_yaml(text, path)?;
    if !doc.is_object() {
        return Err(SpecError::Schema {
            file: path.to_path_buf(),
            location: None,
            field: "(document)".into(),
            message: "expected a mapping at the top of the file".into(),
        });
    }
    apply_overrides(&mut doc, &options.overrides)?;
    let schema_kind = doc
        .get("$schema")
        .and_then(Value::as_str)
        .and_then(Kind::from_schema_url);
    let kind = options
        .kind
        .or(schema_kind)
        .ok_or_else(|| SpecError::UnknownKind {
            file: path.to_path_buf(),
            message: match doc.get("$schema") {
                Some(s) => format!("`$schema` {s} is not a known Azure ML schema"),
                None => "no `$schema`".into(),
            },
        })?;
    crate::load::load(kind, &mut doc, path, text)?;
    let mut plan = Plan {
        kind,
        file: path.to_path_buf(),
        text: text.to_string(),
        doc,
        options,
        uploads: Vec::new(),
        lookups: Vec::new(),
    };
    let mut recorder = Recorder;
    let (_, uploads, lookups) = plan.run(&mut recorder)?;
    plan.uploads = uploads;
    plan.lookups = lookups;
    Ok(plan)
}

impl Plan {
    /// The kind of the file.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The YAML file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The document after overrides.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// Local paths to upload, in the order the SDK uploads them.
    pub fn uploads(&self) -> &[Upload] {
        &self.uploads
    }

    /// `name@latest` references to resolve against the workspace.
    pub fn lookups(&self) -> &[Lookup] {
        &self.lookups
    }

    /// Phase 2: the REST requests, dependencies first (code versions, anonymous environments,
    /// models and components) and the main request last.
    pub fn render(&self, resolver: &mut dyn Resolver) -> Result<Vec<RestRequest>> {
        Ok(self.run(resolver)?.0)
    }

    fn run(&self, resolver: &mut dyn Resolver) -> Result<(Vec<RestRequest>, Vec<Upload>, Vec<Lookup>)> {
        let base = self.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut ctx = Ctx::new(&self.options, &self.file, &self.text, base, resolver);
        let main = convert::convert(&mut ctx, self.kind, &self.doc)?;
        let (mut requests, uploads, lookups) = ctx.finish();
        requests.push(main);
        Ok((requests, uploads, lookups))
    }
}

/// Phase-1 resolver: records nothing itself (the context records uploads), answers placeholders.
struct Recorder;

impl Resolver for Recorder {
    fn upload(&mut self, upload: &Upload) -> std::result::Result<UploadOutcome, String> {
        Ok(if upload.role.is_code() {
            UploadOutcome::Code {
                name: format!("<code-{}>", upload.index),
                version: "1".into(),
                code_uri: format!("<code-uri-{}>", upload.index),
                hash: format!("<hash-{}>", upload.index),
            }
        } else {
            UploadOutcome::Blob {
                datastore: "workspaceblobstore".into(),
                account: "<account>".into(),
                container: "<container>".into(),
                path: format!("LocalUpload/<hash-{}>/{}", upload.index, upload.basename),
                hash: format!("<hash-{}>", upload.index),
            }
        })
    }

    fn latest_version(&mut self, _asset: AssetType, _name: &str) -> std::result::Result<String, String> {
        Ok("<latest>".into())
    }

    fn anonymous_name(&mut self, _asset: AssetType) -> String {
        "<anonymous>".into()
    }
}
