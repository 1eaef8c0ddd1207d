//! Asset references (`azureml:name:version`, `azureml:name@latest`, `azureml://registries/...`,
//! ARM ids), the workspace scope, and Azure ML name rules (API guide §7).

use std::sync::LazyLock;

use regex::Regex;

use crate::error::{Result, SpecError};

/// Names of curated environments start with this (`azure.ai.ml.constants._common.CURATED_ENV_PREFIX`).
pub(crate) const CURATED_ENV_PREFIX: &str = "AzureML-";

/// The workspace a file is rendered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// Subscription id.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Workspace name.
    pub workspace: String,
    /// Azure region of the workspace (endpoints and deployments carry it).
    pub location: String,
}

impl Scope {
    /// Placeholder scope used when the caller gives none (`amlops render` without flags).
    pub fn placeholder() -> Self {
        Scope {
            subscription: "00000000-0000-0000-0000-000000000000".into(),
            resource_group: "<resource-group>".into(),
            workspace: "<workspace>".into(),
            location: "<location>".into(),
        }
    }

    /// `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.MachineLearningServices/workspaces/{w}`.
    pub fn workspace_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.subscription, self.resource_group, self.workspace
        )
    }

    /// ARM id of a workspace child, e.g. `asset_id("models", "m", Some("1"))`.
    pub fn asset_id(&self, collection: &str, name: &str, version: Option<&str>) -> String {
        match version {
            Some(v) => format!("{}/{collection}/{name}/versions/{v}", self.workspace_id()),
            None => format!("{}/{collection}/{name}", self.workspace_id()),
        }
    }

    /// The long datastore URI form used for model paths.
    pub fn long_datastore_uri(&self, datastore: &str, path: &str) -> String {
        format!(
            "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/{datastore}/paths/{path}",
            self.subscription, self.resource_group, self.workspace
        )
    }
}

/// Kinds of workspace assets that references point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssetType {
    /// Environments.
    Environment,
    /// Models.
    Model,
    /// Data assets.
    Data,
    /// Components.
    Component,
    /// Code assets.
    Code,
}

impl AssetType {
    /// The ARM collection name (`environments`, `models`, `data`, `components`, `codes`).
    pub fn collection(self) -> &'static str {
        match self {
            AssetType::Environment => "environments",
            AssetType::Model => "models",
            AssetType::Data => "data",
            AssetType::Component => "components",
            AssetType::Code => "codes",
        }
    }

    /// Parses an ARM collection name.
    pub fn from_collection(s: &str) -> Option<Self> {
        Some(match s {
            "environments" => AssetType::Environment,
            "models" => AssetType::Model,
            "data" => AssetType::Data,
            "components" => AssetType::Component,
            "codes" => AssetType::Code,
            _ => return None,
        })
    }
}

/// A parsed reference to an asset or compute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetRef {
    /// `azureml:name:version`.
    Versioned {
        /// Asset name.
        name: String,
        /// Version.
        version: String,
    },
    /// `azureml:name@label` (`latest` is the usual label).
    Labelled {
        /// Asset name.
        name: String,
        /// Label.
        label: String,
    },
    /// `azureml:name` (computes, or an asset without version).
    Named {
        /// The name.
        name: String,
    },
    /// `azureml://registries/{registry}/{collection}/{name}/versions/{v}` or `/labels/{l}`.
    Registry {
        /// The URI as written.
        uri: String,
        /// Registry name.
        registry: String,
        /// Collection (`environments`, `models`, `components`, ...).
        collection: String,
        /// Asset name.
        name: String,
        /// Version, when given.
        version: Option<String>,
        /// Label, when given.
        label: Option<String>,
    },
    /// Any other `azureml://` URI (datastores, jobs outputs, long workspace form).
    Uri(String),
    /// An ARM id (`/subscriptions/...`), possibly written `azureml:/subscriptions/...`.
    ArmId {
        /// The id without `azureml:` prefix.
        id: String,
        /// The last collection in the id (`environments`, `computes`, ...).
        collection: String,
        /// Name in that collection.
        name: String,
        /// Version, when the id ends in `/versions/{v}`.
        version: Option<String>,
    },
}

impl AssetRef {
    /// Parses a reference. Plain names (without `azureml:`) are accepted as [`AssetRef::Named`].
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |message: &str| SpecError::Reference {
            reference: s.to_string(),
            message: message.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(bad("empty reference"));
        }
        if let Some(rest) = t.strip_prefix("azureml://") {
            if let Some(reg) = rest.strip_prefix("registries/") {
                let parts: Vec<&str> = reg.split('/').collect();
                if parts.len() < 3 || parts.iter().take(3).any(|p| p.is_empty()) {
                    return Err(bad(
                        "expected azureml://registries/<registry>/<collection>/<name>[/versions/<v>|/labels/<l>]",
                    ));
                }
                let (mut version, mut label) = (None, None);
                match parts.get(3..) {
                    Some([]) | None => {}
                    Some(["versions", v]) if !v.is_empty() => version = Some(v.to_string()),
                    Some(["labels", l]) if !l.is_empty() => label = Some(l.to_string()),
                    _ => return Err(bad("expected /versions/<v> or /labels/<l> after the name")),
                }
                return Ok(AssetRef::Registry {
                    uri: t.to_string(),
                    registry: parts[0].to_string(),
                    collection: parts[1].to_string(),
                    name: parts[2].to_string(),
                    version,
                    label,
                });
            }
            return Ok(AssetRef::Uri(t.to_string()));
        }
        let body = t.strip_prefix("azureml:").unwrap_or(t);
        if body.starts_with('/') {
            return parse_arm(body).ok_or_else(|| bad("not a valid ARM id"));
        }
        if let Some((name, label)) = body.split_once('@') {
            if name.is_empty() || label.is_empty() {
                return Err(bad("expected azureml:<name>@<label>"));
            }
            return Ok(AssetRef::Labelled {
                name: name.into(),
                label: label.into(),
            });
        }
        if let Some((name, version)) = body.split_once(':') {
            if name.is_empty() || version.is_empty() || version.contains(':') {
                return Err(bad("expected azureml:<name>:<version>"));
            }
            return Ok(AssetRef::Versioned {
                name: name.into(),
                version: version.into(),
            });
        }
        Ok(AssetRef::Named { name: body.into() })
    }
}

fn parse_arm(id: &str) -> Option<AssetRef> {
    let parts: Vec<&str> = id.trim_start_matches('/').split('/').collect();
    if parts.len() < 2 || !parts[0].eq_ignore_ascii_case("subscriptions") {
        return None;
    }
    let (collection, name, version) = if parts.len() >= 4 && parts[parts.len() - 2] == "versions" {
        (
            parts[parts.len() - 4],
            parts[parts.len() - 3],
            Some(parts[parts.len() - 1].to_string()),
        )
    } else if parts.len() >= 2 {
        (parts[parts.len() - 2], parts[parts.len() - 1], None)
    } else {
        return None;
    };
    if name.is_empty() {
        return None;
    }
    Some(AssetRef::ArmId {
        id: id.to_string(),
        collection: collection.to_string(),
        name: name.to_string(),
        version,
    })
}

static JOB_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,255}$").expect("valid regex"));
static ENDPOINT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$").expect("valid regex"));
static WORKSPACE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$").expect("valid regex"));
static COMPONENT_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]*$").expect("valid regex"));
static ASSET_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][-a-zA-Z0-9_.]{0,254}$").expect("valid regex"));

/// What a name names, for [`validate_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// Job (run id): `^[a-zA-Z0-9][a-zA-Z0-9_-]{0,255}$`.
    Job,
    /// Online or batch endpoint: 3–32 chars, `^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$`.
    Endpoint,
    /// Online or batch deployment: same rule as endpoints.
    Deployment,
    /// Workspace: `^[a-zA-Z0-9][a-zA-Z0-9_-]{2,32}$`.
    Workspace,
    /// Component: lower-case letters, digits, `_`, starting with a letter.
    Component,
    /// Model, environment or data asset.
    Asset,
}

/// Checks a name against Azure ML's rules.
pub fn validate_name(kind: NameKind, name: &str) -> Result<()> {
    let fail = |what: &str, message: &str| {
        Err(SpecError::Name {
            what: what.into(),
            name: name.into(),
            message: message.into(),
        })
    };
    match kind {
        NameKind::Job if !JOB_NAME.is_match(name) => fail(
            "job",
            "must start with a letter or digit and contain only letters, digits, '_' and '-' (at most 256 characters)",
        ),
        NameKind::Endpoint | NameKind::Deployment
            if !(3..=32).contains(&name.len()) || !ENDPOINT_NAME.is_match(name) =>
        {
            let what = if kind == NameKind::Endpoint {
                "endpoint"
            } else {
                "deployment"
            };
            fail(
                what,
                "must be 3-32 characters, start with a letter, contain only letters, digits and '-', and not end with '-'",
            )
        }
        NameKind::Workspace if !WORKSPACE_NAME.is_match(name) => fail(
            "workspace",
            "must be 3-33 characters of letters, digits, '_' and '-', starting with a letter or digit",
        ),
        NameKind::Component if !COMPONENT_NAME.is_match(name) => fail(
            "component",
            "should only contain lower letter, number, underscore and start with a lower letter",
        ),
        NameKind::Asset if !ASSET_NAME.is_match(name) => fail(
            "asset",
            "must start with a letter, digit or '_' and contain only letters, digits, '-', '_' and '.' (at most 255 characters)",
        ),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_forms() {
        assert_eq!(
            AssetRef::parse("azureml:my-model:2").unwrap(),
            AssetRef::Versioned {
                name: "my-model".into(),
                version: "2".into()
            }
        );
        assert_eq!(
            AssetRef::parse("azureml:env@latest").unwrap(),
            AssetRef::Labelled {
                name: "env".into(),
                label: "latest".into()
            }
        );
        assert_eq!(
            AssetRef::parse("azureml:cpu-cluster").unwrap(),
            AssetRef::Named {
                name: "cpu-cluster".into()
            }
        );
        match AssetRef::parse("azureml://registries/azureml/environments/sklearn-1.5/labels/latest").unwrap()
        {
            AssetRef::Registry {
                registry,
                collection,
                name,
                label,
                version,
                ..
            } => {
                assert_eq!(
                    (registry.as_str(), collection.as_str(), name.as_str()),
                    ("azureml", "environments", "sklearn-1.5")
                );
                assert_eq!(label.as_deref(), Some("latest"));
                assert_eq!(version, None);
            }
            other => panic!("{other:?}"),
        }
        match AssetRef::parse("azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/models/m/versions/3").unwrap() {
            AssetRef::ArmId { collection, name, version, .. } => {
                assert_eq!((collection.as_str(), name.as_str(), version.as_deref()), ("models", "m", Some("3")));
            }
            other => panic!("{other:?}"),
        }
        assert!(AssetRef::parse("azureml:a:").is_err());
        assert!(AssetRef::parse("azureml://registries/x").is_err());
        assert!(AssetRef::parse("azureml:@latest").is_err());
    }

    #[test]
    fn name_rules() {
        assert!(validate_name(NameKind::Endpoint, "my-endpoint").is_ok());
        assert!(validate_name(NameKind::Endpoint, "ab").is_err());
        assert!(validate_name(NameKind::Endpoint, "1abc").is_err());
        assert!(validate_name(NameKind::Endpoint, "abc-").is_err());
        assert!(validate_name(NameKind::Deployment, "blue_1").is_err());
        assert!(validate_name(NameKind::Job, "oracle_generated_job_name").is_ok());
        assert!(validate_name(NameKind::Job, "-x").is_err());
        assert!(validate_name(NameKind::Component, "r-iris-example").is_err());
        assert!(validate_name(NameKind::Component, "my_train").is_ok());
        assert!(validate_name(NameKind::Workspace, "ws").is_err());
    }
}
