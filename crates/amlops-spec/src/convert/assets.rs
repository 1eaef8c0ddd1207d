//! Models, environments and data assets.

use serde_json::{Map, Value, json};

use super::{Ctx, api, opt_scalar, opt_str, stringify_map};
use crate::error::Result;
use crate::plan::{RestRequest, UploadOutcome, UploadRole};
use crate::refs::{AssetType, NameKind, validate_name};

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
    let name = name_of(ctx, m)?;
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
    p.insert("isAnonymous".into(), json!(false));
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
    let version = opt_scalar(m, "version").unwrap_or_else(|| "1".into());
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
