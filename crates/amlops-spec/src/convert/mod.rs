//! The conversion context shared by all kinds, and helpers (paths, references, environments).

mod assets;
mod automl;
mod component;
mod endpoint;
pub(crate) mod job;
mod node_rules;
mod nodes;
mod spark;
mod sweep;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Result, SpecError};
use crate::plan::{Kind, Lookup, PlanOptions, Resolver, RestRequest, Upload, UploadOutcome, UploadRole};
use crate::refs::{AssetRef, AssetType, Scope};
use crate::yaml::{locate, parse_yaml};

/// api-versions the SDK uses per request type.
pub(crate) mod api {
    pub const CODE: &str = "2023-04-01";
    pub const ENVIRONMENT: &str = "2023-04-01-preview";
    pub const DATA: &str = "2023-04-01-preview";
    pub const MODEL: &str = "2023-08-01-preview";
    pub const COMPONENT: &str = "2024-01-01-preview";
    pub const COMMAND_JOB: &str = "2025-01-01-preview";
    pub const OTHER_JOB: &str = "2024-01-01-preview";
    pub const SPARK_JOB: &str = "2023-04-01-preview";
    pub const ONLINE_ENDPOINT: &str = "2022-02-01-preview";
    pub const ONLINE_DEPLOYMENT: &str = "2023-04-01-preview";
    pub const BATCH_ENDPOINT: &str = "2023-10-01";
    pub const BATCH_DEPLOYMENT: &str = "2024-01-01-preview";
}

/// A file being converted (the top file, or a component file it references).
#[derive(Clone)]
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
    /// Folder of the file relative to the top file's folder (`""` for the top file).
    pub rel_dir: String,
}

pub(crate) struct Ctx<'a> {
    pub opts: &'a PlanOptions,
    pub scope: &'a Scope,
    /// Folder of the top file.
    pub top_dir: PathBuf,
    pub src: Source,
    resolver: &'a mut dyn Resolver,
    deps: Vec<RestRequest>,
    uploads: Vec<Upload>,
    lookups: Vec<Lookup>,
    depth: usize,
    /// Nesting of pipeline `jobs` being converted.
    pub pipeline_depth: usize,
    /// Pipeline-component PUTs held back until the leaf components of the pipeline are registered.
    deferred: Vec<RestRequest>,
    /// Anonymous component ids by component file.
    components: Vec<(PathBuf, String)>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        opts: &'a PlanOptions,
        file: &Path,
        text: &str,
        top_dir: PathBuf,
        resolver: &'a mut dyn Resolver,
    ) -> Self {
        Ctx {
            opts,
            scope: &opts.scope,
            top_dir,
            src: Source {
                file: file.to_path_buf(),
                text: text.to_string(),
                rel_dir: String::new(),
            },
            resolver,
            deps: Vec::new(),
            uploads: Vec::new(),
            lookups: Vec::new(),
            depth: 0,
            pipeline_depth: 0,
            deferred: Vec::new(),
            components: Vec::new(),
        }
    }

    pub fn finish(self) -> (Vec<RestRequest>, Vec<Upload>, Vec<Lookup>) {
        (self.deps, self.uploads, self.lookups)
    }

    /// A schema error at a field of the current file.
    pub fn err(&self, field: &[&str], message: impl Into<String>) -> SpecError {
        SpecError::Schema {
            file: self.src.file.clone(),
            location: locate(&self.src.text, field),
            field: field.join("."),
            message: message.into(),
        }
    }

    /// An unknown-field error.
    pub fn unknown(&self, field: &[&str]) -> SpecError {
        SpecError::UnknownField {
            file: self.src.file.clone(),
            location: locate(&self.src.text, field),
            field: field.join("."),
        }
    }

    /// Rejects keys not in `allowed` (the CLI's "Unknown field" check).
    pub fn check_fields(&self, obj: &Map<String, Value>, at: &[&str], allowed: &[&str]) -> Result<()> {
        for k in obj.keys() {
            if !allowed.contains(&k.as_str()) {
                let mut p: Vec<&str> = at.to_vec();
                p.push(k);
                return Err(self.unknown(&p));
            }
        }
        Ok(())
    }

    /// Whether a dependency PUT to `path` was already emitted (anonymous components are shared).
    pub fn has_dep(&self, path: &str) -> bool {
        self.deps.iter().chain(&self.deferred).any(|d| d.path == path)
    }

    /// The anonymous component already registered for a component file.
    pub fn cached_component(&self, file: &Path) -> Option<String> {
        self.components
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, id)| id.clone())
    }

    pub fn cache_component(&mut self, file: PathBuf, id: String) {
        self.components.push((file, id));
    }

    /// Holds a dependency PUT back (see [`Ctx::flush_deferred`]).
    pub fn defer_dep(&mut self, path: String, api_version: &str, body: Value) {
        self.deferred.push(RestRequest {
            method: "PUT".into(),
            path,
            api_version: api_version.into(),
            body,
        });
    }

    /// Emits held-back PUTs after everything registered so far.
    pub fn flush_deferred(&mut self) {
        let d = std::mem::take(&mut self.deferred);
        self.deps.extend(d);
    }

    pub fn push_dep(&mut self, path: String, api_version: &str, body: Value) {
        self.deps.push(RestRequest {
            method: "PUT".into(),
            path,
            api_version: api_version.into(),
            body,
        });
    }

    /// Runs `f` with a nested source file (component files referenced from a pipeline).
    pub fn with_source<T>(&mut self, src: Source, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth > 16 {
            return Err(self.err(&[], "component files nest too deeply (a cycle?)"));
        }
        let old = std::mem::replace(&mut self.src, src);
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        self.src = old;
        r
    }

    /// Loads a YAML file referenced by the current file (relative path).
    pub fn load_nested(&self, rel: &str, field: &[&str]) -> Result<(Source, Value)> {
        let rel = rel.strip_prefix("file:").unwrap_or(rel);
        let rel_top = join_rel(&self.src.rel_dir, rel);
        let file = self.top_dir.join(&rel_top);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| self.err(field, format!("cannot read `{}`: {e}", file.display())))?;
        let mut doc = parse_yaml(&text, &file)?;
        // files referenced from jobs and deployments are components
        crate::load::load(Kind::Component, &mut doc, &file, &text)?;
        let rel_dir = match rel_top.rfind('/') {
            Some(i) => rel_top[..i].to_string(),
            None => String::new(),
        };
        Ok((Source { file, text, rel_dir }, doc))
    }

    /// Requests an upload of a local path written in the current file.
    pub fn upload(&mut self, role: UploadRole, path: &str) -> Result<UploadOutcome> {
        self.upload_with(role, path, &[])
    }

    /// An upload whose snapshot also holds `includes` (component `additional_includes`).
    pub fn upload_with(
        &mut self,
        role: UploadRole,
        path: &str,
        includes: &[String],
    ) -> Result<UploadOutcome> {
        let rel_path = join_rel(&self.src.rel_dir, path);
        let mut basename = rel_path.rsplit('/').next().unwrap_or(&rel_path).to_string();
        if basename == "." || basename == ".." {
            let abs = std::fs::canonicalize(self.top_dir.join(&rel_path)).ok();
            if let Some(name) = abs.as_ref().and_then(|a| a.file_name()) {
                basename = name.to_string_lossy().into_owned();
            }
        }
        let additional_includes: Vec<PathBuf> = includes
            .iter()
            .map(|i| self.top_dir.join(join_rel(&self.src.rel_dir, i)))
            .collect();
        if !additional_includes.is_empty() {
            basename = "code_with_additional_includes".into();
        }
        let up = Upload {
            index: self.uploads.len(),
            role,
            local_path: self.top_dir.join(&rel_path),
            rel_path,
            basename,
            additional_includes,
        };
        let out = self.resolver.upload(&up).map_err(|message| SpecError::Resolve {
            subject: up.local_path.display().to_string(),
            message,
        })?;
        match (&out, role.is_code()) {
            (UploadOutcome::Code { .. }, true) | (UploadOutcome::Blob { .. }, false) => {}
            _ => {
                return Err(SpecError::Resolve {
                    subject: up.local_path.display().to_string(),
                    message: "the resolver returned the wrong kind of upload outcome".into(),
                });
            }
        }
        self.uploads.push(up);
        Ok(out)
    }

    /// Resolves `name@latest`.
    pub fn latest(&mut self, asset: AssetType, name: &str) -> Result<String> {
        self.lookups.push(Lookup {
            collection: asset.collection(),
            name: name.to_string(),
        });
        self.resolver
            .latest_version(asset, name)
            .map_err(|message| SpecError::Resolve {
                subject: format!("azureml:{name}@latest"),
                message,
            })
    }

    /// A random asset name (`Asset.__init__`'s `_get_random_name()`), asked of the resolver.
    pub fn anonymous_name(&mut self, asset: AssetType) -> String {
        self.resolver.anonymous_name(asset)
    }

    pub fn asset_id(&self, asset: AssetType, name: &str, version: &str) -> String {
        self.scope.asset_id(asset.collection(), name, Some(version))
    }

    /// `compute: azureml:name` / `name` → ARM id; bindings and ARM ids pass through.
    pub fn compute_id(&self, v: &Value, field: &[&str]) -> Result<String> {
        let s = v.as_str().ok_or_else(|| self.err(field, "expected a string"))?;
        if s.starts_with("${{") || s.starts_with('/') {
            return Ok(s.to_string());
        }
        let name = s.strip_prefix("azureml:").unwrap_or(s);
        if name.starts_with('/') {
            return Ok(name.to_string());
        }
        Ok(self.scope.asset_id("computes", name, None))
    }

    /// Resolves an asset reference string to what the SDK sends: ARM ids for workspace assets
    /// (`@latest` looked up), registry URIs unchanged.
    pub fn asset_ref(&mut self, asset: AssetType, s: &str, field: &[&str]) -> Result<String> {
        let r = AssetRef::parse(s).map_err(|e| self.err(field, e.to_string()))?;
        Ok(match r {
            AssetRef::Versioned { name, version } => self.asset_id(asset, &name, &version),
            AssetRef::Labelled { name, label } => {
                if label == "latest" {
                    let v = self.latest(asset, &name)?;
                    self.asset_id(asset, &name, &v)
                } else {
                    // `OperationOrchestrator._resolve_name_version_from_name_label` → `_resolve_label_to_asset`:
                    // the operations' `_managed_label_resolver` knows only `latest`, any other label fails
                    // ("Asset ... with version label ... does not exist") without asking the workspace
                    return Err(self.err(
                        field,
                        format!(
                            "`{s}`: the label `{label}` cannot be resolved (only `@latest` is): reference a version, azureml:{name}:<version>"
                        ),
                    ));
                }
            }
            AssetRef::ArmId { id, .. } => id,
            AssetRef::Registry { uri, .. } | AssetRef::Uri(uri) => uri,
            AssetRef::Named { .. } => {
                return Err(self.err(
                    field,
                    format!("`{s}`: expected azureml:<name>:<version> or azureml:<name>@latest"),
                ));
            }
        })
    }

    /// `environment:` of a job/component/deployment: a reference string or an inline
    /// environment (→ anonymous environment PUT). Returns the id as jobs send it.
    pub fn environment(&mut self, v: &Value, field: &[&str]) -> Result<String> {
        match v {
            // `OperationOrchestrator.get_asset_arm_id`: curated environments (`AzureML-` names) keep their
            // short form, with the `azureml:` prefix the service expects, in every reference form
            Value::String(s)
                if s.strip_prefix("azureml:")
                    .unwrap_or(s)
                    .starts_with(crate::refs::CURATED_ENV_PREFIX) =>
            {
                Ok(format!("azureml:{}", s.strip_prefix("azureml:").unwrap_or(s)))
            }
            Value::String(s) => {
                let r = AssetRef::parse(s).map_err(|e| self.err(field, e.to_string()))?;
                match r {
                    // `get_asset_arm_id` resolves `@latest` to the latest version's ARM id and fails on other
                    // labels (`asset_ref`)
                    AssetRef::Named { ref name } if !s.starts_with("azureml:") => {
                        Err(self.err(field, format!("`{name}`: expected azureml:<name>:<version>, azureml:<name>@latest or an inline environment")))
                    }
                    _ => self.asset_ref(AssetType::Environment, s, field),
                }
            }
            Value::Object(m) => {
                let (name, version, body) = self.environment_body(m, field, true)?;
                let id = self.asset_id(AssetType::Environment, &name, &version);
                self.push_dep(id.clone(), api::ENVIRONMENT, body);
                Ok(id)
            }
            _ => Err(self.err(field, "expected a reference string or an inline environment")),
        }
    }

    /// `code:` → code asset id (uploading local folders), or a remote/registered reference.
    pub fn code(&mut self, v: &Value, field: &[&str]) -> Result<String> {
        self.code_with(v, field, &[])
    }

    /// `code:` with `additional_includes`.
    pub fn code_with(&mut self, v: &Value, field: &[&str], includes: &[String]) -> Result<String> {
        let s = v
            .as_str()
            .ok_or_else(|| self.err(field, "expected a path or reference"))?;
        if s.starts_with("azureml:") {
            return self.asset_ref(AssetType::Code, s, field);
        }
        if is_remote(s) {
            return Ok(s.to_string());
        }
        let local = self.top_dir.join(join_rel(&self.src.rel_dir, s));
        if !local.exists() {
            return Err(self.err(
                field,
                format!(
                    "Can't find directory or file in resolved absolute path: {}",
                    local.display()
                ),
            ));
        }
        for include in includes {
            let path = self.top_dir.join(join_rel(&self.src.rel_dir, include));
            if !path.exists() {
                let mut at: Vec<&str> = field.to_vec();
                at.pop();
                at.push("additional_includes");
                return Err(self.err(
                    &at,
                    format!(
                        "additional include `{include}` not found at {} (paths are relative to this YAML \
                         file's folder): fix the path or remove it",
                        path.display()
                    ),
                ));
            }
        }
        match self.upload_with(UploadRole::Code, s, includes)? {
            UploadOutcome::Code {
                name,
                version,
                code_uri,
                hash,
            } => {
                let id = self.asset_id(AssetType::Code, &name, &version);
                self.push_dep(
                    id.clone(),
                    api::CODE,
                    json!({"properties": {"codeUri": code_uri, "isAnonymous": true,
                        "properties": {"hash_sha256": hash, "hash_version": 202208}}}),
                );
                Ok(id)
            }
            UploadOutcome::Blob { .. } => Err(self.err(field, "code upload gave a datastore outcome")),
        }
    }

    /// A local or remote `path:` of a data-like input/asset. Returns the URI the SDK sends.
    pub fn data_path(
        &mut self,
        role: UploadRole,
        path: &str,
        long_form: bool,
        folder_slash: bool,
    ) -> Result<String> {
        if is_remote(path) || path.starts_with("${{") {
            return Ok(path.to_string());
        }
        match self.upload(role, path)? {
            UploadOutcome::Blob {
                datastore, path: p, ..
            } => {
                let mut uri = if long_form {
                    self.scope.long_datastore_uri(&datastore, &p)
                } else {
                    format!("azureml://datastores/{datastore}/paths/{p}")
                };
                if folder_slash {
                    uri.push('/');
                }
                Ok(uri)
            }
            UploadOutcome::Code { .. } => Ok(String::new()),
        }
    }
}

/// Dispatch by kind.
pub(crate) fn convert(ctx: &mut Ctx<'_>, kind: Kind, doc: &Value) -> Result<RestRequest> {
    let m = doc
        .as_object()
        .ok_or_else(|| ctx.err(&[], "expected a mapping at the top of the file"))?;
    match kind {
        Kind::Job => job::job(ctx, m),
        Kind::Component => component::component_request(ctx, m),
        Kind::Model => assets::model(ctx, m),
        Kind::Environment => assets::environment(ctx, m),
        Kind::Data => assets::data(ctx, m),
        Kind::OnlineEndpoint => endpoint::online_endpoint(ctx, m),
        Kind::OnlineDeployment => endpoint::online_deployment(ctx, m),
        Kind::BatchEndpoint => endpoint::batch_endpoint(ctx, m),
        Kind::BatchDeployment => endpoint::batch_deployment(ctx, m),
    }
}

// ---------- small helpers ----------

/// What the SDK hashes for an environment's `inference_config`: PyYAML's dump of its model
/// object (`InferenceContainerProperties` holding `Route` objects, camelCase keys).
pub(crate) fn inference_config_dump(ic: &Value) -> String {
    const MODELS: &str = "azure.ai.ml._restclient.arm_ml_service.models._models";
    let mut out = format!("!!python/object:{MODELS}.InferenceContainerProperties\n_data:\n");
    let mut routes: Vec<(String, &Value)> = ic
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (camel(k), v)).collect())
        .unwrap_or_default();
    routes.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, r) in routes {
        out.push_str(&format!("  {k}: !!python/object:{MODELS}.Route\n    _data:\n"));
        let mut fields: Vec<(&String, &Value)> =
            r.as_object().map(|m| m.iter().collect()).unwrap_or_default();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        for (fk, fv) in fields {
            let v = crate::yaml::py_yaml_dump(fv);
            let v = v
                .strip_suffix("\n...\n")
                .or_else(|| v.strip_suffix('\n'))
                .unwrap_or(&v);
            out.push_str(&format!("      {fk}: {v}\n"));
        }
    }
    out
}

pub(crate) fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Python `sep.join(s)` for strings: the characters of `s` separated by `sep`.
pub(crate) fn py_join(sep: &str, s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push(c);
    }
    out
}

/// Is this a URI rather than a local path?
pub(crate) fn is_remote(s: &str) -> bool {
    s.starts_with("azureml:")
        || s.contains("://")
        || s.starts_with("/subscriptions/")
        || s.starts_with("git+")
}

/// Joins a relative path to a folder (both relative to the top folder) and normalises it
/// like Python's `os.path.normpath`.
pub(crate) fn join_rel(dir: &str, p: &str) -> String {
    let joined = if p.starts_with('/') || dir.is_empty() {
        p.to_string()
    } else {
        format!("{dir}/{p}")
    };
    normpath(&joined)
}

pub(crate) fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let body = parts.join("/");
    if abs {
        format!("/{body}")
    } else if body.is_empty() {
        ".".into()
    } else {
        body
    }
}

pub(crate) fn opt_str(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A scalar as a string (numbers and booleans Python-style).
pub(crate) fn opt_scalar(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k)? {
        Value::Null | Value::Object(_) | Value::Array(_) => None,
        v => Some(crate::yaml::scalar_to_py_str(v)),
    }
}

/// Map values stringified (tags/properties are string maps in REST).
pub(crate) fn stringify_map(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => Value::String(s.clone()),
                        Value::Null => Value::Null,
                        Value::Object(_) | Value::Array(_) => Value::String(py_repr(v)),
                        other => Value::String(crate::yaml::scalar_to_py_str(other)),
                    };
                    (k.clone(), s)
                })
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Python `repr()` of a JSON-like value (`{'a': None}`).
pub(crate) fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => crate::yaml::scalar_to_py_str(other),
    }
}

/// snake_case → camelCase.
pub(crate) fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for (i, c) in s.chars().enumerate() {
        if c == '_' && i > 0 {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `QueueSettings._to_rest_object` (command and sweep jobs): `job_tier` through `JobTierNames.ENTITY_TO_REST`
/// (`spot` → `Spot`, ...) and `priority` through `JobPriorityValues.ENTITY_TO_REST` (`low` → 1, `medium` → 2,
/// `high` → 3), both looked up lower-cased; an unset or unknown one is not sent.
pub(crate) fn queue_settings(q: &Value) -> Value {
    let Value::Object(q) = q else {
        return camel_keys(q);
    };
    let lower = |k: &str| q.get(k).and_then(Value::as_str).map(str::to_lowercase);
    let mut out = Map::new();
    let tier = lower("job_tier").and_then(|t| match t.as_str() {
        "null" => Some("Null"),
        "spot" => Some("Spot"),
        "basic" => Some("Basic"),
        "standard" => Some("Standard"),
        "premium" => Some("Premium"),
        _ => None,
    });
    if let Some(t) = tier {
        out.insert("jobTier".into(), json!(t));
    }
    let priority = lower("priority").and_then(|p| match p.as_str() {
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        _ => None,
    });
    if let Some(pr) = priority {
        out.insert("priority".into(), json!(pr));
    }
    Value::Object(out)
}

/// Recursively camel-cases mapping keys.
pub(crate) fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (camel(k), camel_keys(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(camel_keys).collect()),
        other => other.clone(),
    }
}

/// Seconds → ISO-8601 duration as the SDK writes it (`PT1H`, `PT15M`, `PT3S`, `PT1H30M`).
pub(crate) fn iso_duration(secs: f64) -> String {
    if secs <= 0.0 {
        return "PT0S".into();
    }
    let total = secs;
    let days = (total / 86400.0).floor();
    let rem = total - days * 86400.0;
    let h = (rem / 3600.0).floor();
    let rem = rem - h * 3600.0;
    let m = (rem / 60.0).floor();
    let s = rem - m * 60.0;
    let mut out = String::from("P");
    if days > 0.0 {
        out.push_str(&format!("{}D", days as u64));
    }
    if h > 0.0 || m > 0.0 || s > 0.0 {
        out.push('T');
        if h > 0.0 {
            out.push_str(&format!("{}H", h as u64));
        }
        if m > 0.0 {
            out.push_str(&format!("{}M", m as u64));
        }
        if s > 0.0 {
            if s.fract() == 0.0 {
                out.push_str(&format!("{}S", s as u64));
            } else {
                out.push_str(&format!("{s}S"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(normpath("./src/"), "src");
        assert_eq!(normpath("../../model-2/model/"), "../../model-2/model");
        assert_eq!(join_rel("a/b", "../c"), "a/c");
        assert_eq!(camel("display_name"), "displayName");
        assert_eq!(iso_duration(3600.0), "PT1H");
        assert_eq!(iso_duration(900.0), "PT15M");
        assert_eq!(iso_duration(3.0), "PT3S");
        assert_eq!(py_join("ab", "xyz"), "xabyabz");
    }
}
