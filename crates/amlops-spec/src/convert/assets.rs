//! Models, environments and data assets.

use serde_json::{Map, Value, json};

use super::{
    Ctx, api, camel_keys, inference_config_dump, is_remote, join_rel, opt_scalar, opt_str, py_join,
    sha256_hex, stringify_map,
};
use crate::error::Result;
use crate::plan::{RestRequest, UploadOutcome, UploadRole};
use crate::refs::{AssetType, NameKind, validate_name};
use crate::yaml::{parse_yaml, py_yaml_dump};

fn name_of(ctx: &Ctx<'_>, m: &Map<String, Value>) -> Result<String> {
    let name = ctx
        .opts
        .name
        .clone()
        .or_else(|| opt_str(m, "name"))
        .ok_or_else(|| ctx.err(&["name"], "Missing data for required field."))?;
    validate_name(NameKind::Asset, &name).map_err(|e| ctx.err(&["name"], e.to_string()))?;
    Ok(name)
}

/// Model body; `anonymous` for a deployment's inline model without name.
/// Returns (name, version, body).
pub(crate) fn model_body(
    ctx: &mut Ctx<'_>,
    m: &Map<String, Value>,
    field: &[&str],
    inline: bool,
) -> Result<(String, String, Value)> {
    ctx.check_fields(
        m,
        field,
        &[
            "$schema",
            "name",
            "version",
            "path",
            "type",
            "description",
            "tags",
            "properties",
            "flavors",
            "stage",
            "job_name",
            "datastore",
            "utc_time_created",
            "intellectual_property",
            "system_metadata",
        ],
    )?;
    let path = opt_str(m, "path");
    let mut p = Map::new();
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    p.insert(
        "tags".into(),
        m.get("tags").map(stringify_map).unwrap_or_else(|| json!({})),
    );
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    p.insert(
        "modelType".into(),
        json!(opt_str(m, "type").unwrap_or_else(|| "custom_model".into())),
    );
    let mut upload_hash = None;
    if let Some(path) = &path {
        let uri = if super::is_remote(path) {
            path.clone()
        } else {
            match ctx.upload(UploadRole::Model, path)? {
                UploadOutcome::Blob {
                    datastore,
                    path: bp,
                    hash,
                    ..
                } => {
                    upload_hash = Some(hash);
                    ctx.scope.long_datastore_uri(&datastore, &bp)
                }
                UploadOutcome::Code { .. } => String::new(),
            }
        };
        p.insert("modelUri".into(), json!(uri));
    }
    if let Some(f) = m.get("flavors").filter(|v| !v.is_null()) {
        p.insert("flavors".into(), f.clone());
    }
    if let Some(s) = opt_str(m, "stage") {
        p.insert("stage".into(), json!(s));
    }
    let explicit = opt_str(m, "name").or_else(|| ctx.opts.name.clone().filter(|_| !inline));
    let anonymous = explicit.is_none();
    p.insert("isAnonymous".into(), json!(anonymous));
    p.insert("isArchived".into(), json!(false));
    let name = match explicit {
        Some(n) => n,
        None => match &upload_hash {
            Some(h) => super::sha256_hex(h),
            None => return Err(ctx.err(field, "a model needs `name` or a local `path`")),
        },
    };
    let version = opt_scalar(m, "version").unwrap_or_else(|| "1".into());
    Ok((name, version, json!({ "properties": p })))
}

impl Ctx<'_> {
    /// Builds an environment version body. Returns (name, version, body).
    pub fn environment_body(
        &mut self,
        m: &Map<String, Value>,
        field: &[&str],
        inline: bool,
    ) -> Result<(String, String, Value)> {
        let mut allowed = vec![
            "name",
            "version",
            "image",
            "conda_file",
            "build",
            "description",
            "tags",
            "properties",
            "os_type",
            "inference_config",
            "$schema",
            "datastore",
            "intellectual_property",
            "stage",
        ];
        if inline {
            allowed.push("type");
        }
        self.check_fields(m, field, &allowed)?;
        let image = opt_str(m, "image");
        let conda = match m.get("conda_file") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => {
                let rel = join_rel(&self.src.rel_dir, p);
                let path = self.top_dir.join(&rel);
                let mut f = field.to_vec();
                f.push("conda_file");
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| self.err(&f, format!("cannot read conda file `{}`: {e}", path.display())))?;
                let parsed = parse_yaml(&text, &path)?;
                Some(py_yaml_dump(&parsed))
            }
            Some(other @ Value::Object(_)) => Some(py_yaml_dump(other)),
            Some(_) => {
                let mut f = field.to_vec();
                f.push("conda_file");
                return Err(self.err(&f, "expected a path or a mapping"));
            }
        };
        let mut props = Map::new();
        let mut hash_str = String::new();
        if let Some(c) = &conda {
            props.insert("condaFile".into(), json!(c));
        }
        let mut build_hash = None;
        match (&image, m.get("build")) {
            (Some(img), None) => {
                props.insert("image".into(), json!(img));
                hash_str = sha256_hex(img);
                if let Some(ic) = m.get("inference_config").filter(|v| !v.is_null()) {
                    hash_str = py_join(&hash_str, &sha256_hex(&inference_config_dump(ic)));
                }
                if let Some(c) = &conda {
                    hash_str = py_join(&hash_str, &sha256_hex(c));
                }
            }
            (None, Some(Value::Object(b))) => {
                let mut bf = field.to_vec();
                bf.push("build");
                self.check_fields(b, &bf, &["path", "dockerfile_path"])?;
                // `BuildContextSchema`: `path` is optional; `BuildContext._to_rest_object` sends
                // `contextUri` only when there is one (`build: {}` is sent as `{}`).
                let mut build = Map::new();
                match b.get("path") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(path)) => {
                        let uri = if is_remote(path) {
                            path.clone()
                        } else {
                            match self.upload(UploadRole::BuildContext, path)? {
                                UploadOutcome::Blob {
                                    account,
                                    container,
                                    path,
                                    hash,
                                    ..
                                } => {
                                    build_hash = Some(hash);
                                    format!("https://{account}.blob.core.windows.net/{container}/{path}/")
                                }
                                UploadOutcome::Code { .. } => String::new(),
                            }
                        };
                        build.insert("contextUri".into(), json!(uri));
                    }
                    Some(_) => {
                        let mut pf = bf.clone();
                        pf.push("path");
                        return Err(self.err(&pf, "Not a valid string."));
                    }
                }
                let dockerfile = opt_str(b, "dockerfile_path");
                if let Some(d) = &dockerfile {
                    build.insert("dockerfilePath".into(), json!(d));
                }
                props.insert("build".into(), Value::Object(build));
                if let Some(h) = &build_hash {
                    hash_str = sha256_hex(h);
                    if let Some(d) = &dockerfile {
                        hash_str = py_join(&hash_str, &sha256_hex(d));
                    }
                }
            }
            (Some(_), Some(_)) => {
                return Err(self.err(field, "`image` and `build` cannot both be set"));
            }
            (None, _) => {
                return Err(self.err(field, "an environment needs `image` or `build`"));
            }
        }
        if let Some(ic) = m.get("inference_config").filter(|v| !v.is_null()) {
            props.insert("inferenceConfig".into(), camel_keys(ic));
        }
        if let Some(os) = opt_str(m, "os_type") {
            props.insert("osType".into(), json!(os));
        }
        let name = opt_str(m, "name").or_else(|| self.opts.name.clone().filter(|_| !inline));
        let anonymous = name.is_none();
        props.insert("isAnonymous".into(), json!(anonymous));
        props.insert("isArchived".into(), json!(false));
        if let Some(d) = opt_str(m, "description") {
            props.insert("description".into(), json!(d));
        }
        if let Some(t) = m.get("tags").filter(|v| !v.is_null()) {
            props.insert("tags".into(), stringify_map(t));
        }
        if let Some(p) = m.get("properties").filter(|v| !v.is_null()) {
            props.insert("properties".into(), stringify_map(p));
        }
        // `Environment.__init__` names an anonymous environment `CliV2AnonymousEnvironment` with a hash
        // version (`_generate_anonymous_name_version`) only from an image or a local build context;
        // otherwise (`build: {}`, a remote context) it keeps `Asset.__init__`'s uuid4 name, version 1.
        let (name, version) = match name {
            Some(n) => (n, opt_scalar(m, "version").unwrap_or_else(|| "1".into())),
            None if image.is_none() && build_hash.is_none() => {
                (self.anonymous_name(AssetType::Environment), "1".into())
            }
            None => ("CliV2AnonymousEnvironment".into(), sha256_hex(&hash_str)),
        };
        Ok((name, version, json!({ "properties": props })))
    }
}

pub(crate) fn model(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    let name = name_of(ctx, m)?;
    let (_, version, body) = model_body(ctx, m, &[], false)?;
    if !m.contains_key("path") {
        return Err(ctx.err(&["path"], "Missing data for required field."));
    }
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.asset_id(AssetType::Model, &name, &version),
        api_version: api::MODEL.into(),
        body,
    })
}

pub(crate) fn environment(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    let name = name_of(ctx, m)?;
    let (_, version, body) = ctx.environment_body(m, &[], false)?;
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.asset_id(AssetType::Environment, &name, &version),
        api_version: api::ENVIRONMENT.into(),
        body,
    })
}

pub(crate) fn data(ctx: &mut Ctx<'_>, m: &Map<String, Value>) -> Result<RestRequest> {
    ctx.check_fields(
        m,
        &[],
        &[
            "$schema",
            "name",
            "version",
            "path",
            "type",
            "description",
            "tags",
            "properties",
            "datastore",
            "stage",
            "auto_delete_setting",
            "intellectual_property",
        ],
    )?;
    // `Asset.__init__`: a data asset with neither name nor version is registered anonymously under
    // `_get_random_name()` (a uuid4), version "1"; a version without a name is an error.
    let named = ctx.opts.name.is_some() || opt_str(m, "name").is_some();
    let version = opt_scalar(m, "version");
    let (name, version, anonymous) = match (named, version) {
        (true, v) => (name_of(ctx, m)?, v.unwrap_or_else(|| "1".into()), false),
        (false, None) => (ctx.anonymous_name(AssetType::Data), "1".into(), true),
        (false, Some(_)) => {
            return Err(ctx.err(&["name"], "If version is specified, name must be specified also."));
        }
    };
    let ty = opt_str(m, "type").unwrap_or_else(|| "uri_folder".into());
    let path = opt_str(m, "path").ok_or_else(|| ctx.err(&["path"], "Missing data for required field."))?;
    let mut referenced = None;
    let uri = if super::is_remote(&path) {
        path
    } else {
        let local = ctx.top_dir.join(super::join_rel(&ctx.src.rel_dir, &path));
        if !local.exists() {
            return Err(ctx.err(
                &["path"],
                format!("local path `{}` does not exist", local.display()),
            ));
        }
        let mismatch = match ty.as_str() {
            "uri_file" => !local.is_file(),
            "uri_folder" | "mltable" => !local.is_dir(),
            _ => false,
        };
        if mismatch {
            return Err(ctx.err(
                &["path"],
                format!("File path does not match asset type {ty}: {path}"),
            ));
        }
        if ty == "mltable" {
            referenced = Some(mltable_referenced_uris(ctx, &local)?);
        }
        ctx.data_path(UploadRole::Data, &path, false, false)?
    };
    let mut p = Map::new();
    if let Some(d) = opt_str(m, "description") {
        p.insert("description".into(), json!(d));
    }
    p.insert("isAnonymous".into(), json!(anonymous));
    p.insert(
        "tags".into(),
        m.get("tags").map(stringify_map).unwrap_or_else(|| json!({})),
    );
    p.insert("isArchived".into(), json!(false));
    p.insert(
        "properties".into(),
        m.get("properties")
            .map(stringify_map)
            .unwrap_or_else(|| json!({})),
    );
    p.insert("dataUri".into(), json!(uri));
    p.insert("dataType".into(), json!(ty));
    if let Some(r) = referenced {
        p.insert("referencedUris".into(), r);
    }
    Ok(RestRequest {
        method: "PUT".into(),
        path: ctx.asset_id(AssetType::Data, &name, &version),
        api_version: api::DATA.into(),
        body: json!({ "properties": p }),
    })
}

/// `DataOperations._validate` for a local MLTable folder: the `MLTable` file's `paths`, each as written
/// (`MLTableMetadata.referenced_uris`: the value of its `pattern`, `file` or `folder`, the last of these
/// present winning as in `MLTableMetadataPath.__init__`), become the data version's `referencedUris`.
fn mltable_referenced_uris(ctx: &Ctx<'_>, folder: &std::path::Path) -> Result<Value> {
    let file = folder.join("MLTable");
    let text = std::fs::read_to_string(&file).map_err(|e| {
        ctx.err(
            &["path"],
            format!(
                "cannot read the MLTable file `{}` of this mltable folder: {e}",
                file.display()
            ),
        )
    })?;
    let doc = crate::yaml::parse_yaml(&text, &file)?;
    let mut uris = Vec::new();
    if let Some(Value::Array(paths)) = doc.get("paths") {
        for p in paths {
            let mut value = Value::Null;
            for k in ["pattern", "file", "folder"] {
                if let Some(v) = p.get(k).filter(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
                    value = v.clone();
                }
            }
            uris.push(value);
        }
    }
    Ok(Value::Array(uris))
}
