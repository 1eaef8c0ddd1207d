//! Service connections (AGENT-CONTRACT §3): the AzureRM endpoint and the system VSS connection.

use std::collections::BTreeMap;

use crate::env::TaskEnv;
use crate::error::AgentError;

/// A service connection as the agent hands it to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConnection {
    /// The endpoint id (a GUID).
    pub id: String,
    /// `ENDPOINT_URL_<id>` (for AzureRM: the ARM URL).
    pub url: String,
    /// The authorisation scheme as given.
    pub scheme: String,
    /// Authorisation parameters, keys lower-cased.
    pub parameters: BTreeMap<String, String>,
    /// Endpoint data, keys lower-cased.
    pub data: BTreeMap<String, String>,
}

impl ServiceConnection {
    /// Read the connection `id` from the environment. Names are matched case-insensitively.
    pub fn from_env(env: &TaskEnv, input: &str, id: &str) -> Result<Self, AgentError> {
        let id = id.trim().to_string();
        let err = |problem: String| AgentError::ServiceConnection {
            input: input.into(),
            id: id.clone(),
            problem,
        };
        let url = env
            .get_nonempty(&format!("ENDPOINT_URL_{id}"))
            .ok_or_else(|| {
                err("the agent passed no URL for it; check that the connection exists and that this pipeline is \
                     authorised to use it"
                    .into())
            })?
            .to_string();
        let mut parameters = BTreeMap::new();
        let mut scheme = String::new();
        if let Some(auth) = env.get_nonempty(&format!("ENDPOINT_AUTH_{id}")) {
            let parsed: serde_json::Value = serde_json::from_str(auth)
                .map_err(|e| err(format!("its authorisation is not valid JSON ({e})")))?;
            if let Some(s) = parsed.get("scheme").and_then(|s| s.as_str()) {
                scheme = s.to_string();
            }
            if let Some(map) = parsed.get("parameters").and_then(|p| p.as_object()) {
                for (k, v) in map {
                    if let Some(s) = v.as_str() {
                        parameters.insert(k.to_ascii_lowercase(), s.to_string());
                    }
                }
            }
        }
        if let Some(s) = env.get_nonempty(&format!("ENDPOINT_AUTH_SCHEME_{id}")) {
            scheme = s.to_string();
        }
        let mut data = BTreeMap::new();
        if let Some(raw) = env.get_nonempty(&format!("ENDPOINT_DATA_{id}"))
            && let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(raw)
        {
            for (k, v) in map {
                let value = match v {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => continue,
                    other => other.to_string(),
                };
                data.insert(k.to_ascii_lowercase(), value);
            }
        }
        // Individual variables win over the JSON blobs.
        let param_prefix = format!("ENDPOINT_AUTH_PARAMETER_{id}_").to_ascii_uppercase();
        let data_prefix = format!("ENDPOINT_DATA_{id}_").to_ascii_uppercase();
        for (k, v) in env.iter() {
            let upper = k.to_ascii_uppercase();
            if let Some(key) = upper.strip_prefix(&param_prefix) {
                parameters.insert(key.to_ascii_lowercase(), v.to_string());
            } else if let Some(key) = upper.strip_prefix(&data_prefix) {
                data.insert(key.to_ascii_lowercase(), v.to_string());
            }
        }
        Ok(Self {
            id,
            url,
            scheme,
            parameters,
            data,
        })
    }

    /// A parameter by case-insensitive key.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A data value by case-insensitive key.
    pub fn data(&self, key: &str) -> Option<&str> {
        self.data
            .get(&key.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// The Azure cloud a connection points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzureEnvironment {
    /// Public Azure.
    AzureCloud,
    /// Azure Government.
    AzureUsGovernment,
    /// Azure operated by 21Vianet.
    AzureChinaCloud,
    /// Azure Stack Hub.
    AzureStack,
    /// Another value.
    Unknown(String),
}

impl AzureEnvironment {
    /// Parse the connection's `environment` data value (case-insensitive); empty means AzureCloud.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "azurecloud" => Self::AzureCloud,
            "azureusgovernment" => Self::AzureUsGovernment,
            "azurechinacloud" => Self::AzureChinaCloud,
            "azurestack" => Self::AzureStack,
            _ => Self::Unknown(value.trim().to_string()),
        }
    }

    /// The default Entra authority for the cloud.
    pub fn default_authority(&self) -> &'static str {
        match self {
            Self::AzureUsGovernment => "https://login.microsoftonline.us/",
            Self::AzureChinaCloud => "https://login.chinacloudapi.cn/",
            _ => "https://login.microsoftonline.com/",
        }
    }
}

/// How an AzureRM connection authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzureAuth {
    /// Workload identity federation: an OIDC token from the pipeline exchanged for an Entra token.
    WorkloadIdentityFederation {
        /// The tenant.
        tenant_id: String,
        /// The app registration / managed identity client id.
        client_id: String,
        /// An `idToken` parameter if the agent passed one (late-bound id tokens).
        id_token: Option<String>,
    },
    /// Service principal with a client secret (`spnKey`).
    ServicePrincipalSecret {
        /// The tenant.
        tenant_id: String,
        /// The client id.
        client_id: String,
        /// The secret.
        secret: String,
    },
    /// Service principal with a certificate (`spnCertificate`, PEM text with the key).
    ServicePrincipalCertificate {
        /// The tenant.
        tenant_id: String,
        /// The client id.
        client_id: String,
        /// PEM text: certificate and private key.
        pem: String,
    },
    /// The agent VM's managed identity.
    ManagedIdentity {
        /// A user-assigned identity's client id, if given.
        client_id: Option<String>,
    },
    /// A bearer token given as is (scheme `Token`, parameter `accessToken`): the local workspace's own token,
    /// which the demo and `run-pipeline` pass. Accepted only for loopback URLs.
    Token {
        /// The token (a secret).
        token: String,
    },
    /// No credential (accepted only for loopback URLs: the local workspace and tests).
    None,
}

/// The schemes amlops supports, for error messages.
pub const SUPPORTED_SCHEMES: &[&str] = &[
    "WorkloadIdentityFederation",
    "ServicePrincipal (spnKey, spnCertificate)",
    "ManagedServiceIdentity",
];

/// An AzureRM service connection, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureRmConnection {
    /// The endpoint id.
    pub id: String,
    /// The ARM URL (`https://management.azure.com/` for public Azure).
    pub resource_manager_url: String,
    /// The subscription, if the connection is scoped to one.
    pub subscription_id: Option<String>,
    /// The cloud.
    pub environment: AzureEnvironment,
    /// The Entra authority (ends with `/`).
    pub authority: String,
    /// The resource id whose `/.default` scope ARM tokens are requested for.
    pub resource_id: String,
    /// How to authenticate.
    pub auth: AzureAuth,
}

impl AzureRmConnection {
    /// Type a raw connection. `input` names the task input for error messages.
    pub fn from_connection(conn: &ServiceConnection, input: &str) -> Result<Self, AgentError> {
        let err = |problem: String| AgentError::ServiceConnection {
            input: input.into(),
            id: conn.id.clone(),
            problem,
        };
        let environment = AzureEnvironment::parse(conn.data("environment").unwrap_or(""));
        let mut authority = conn
            .data("activeDirectoryAuthority")
            .or(conn.data("environmentAuthorityUrl"))
            .unwrap_or(environment.default_authority())
            .to_string();
        if !authority.ends_with('/') {
            authority.push('/');
        }
        let resource_manager_url = conn.url.clone();
        let resource_id = conn
            .data("activeDirectoryServiceEndpointResourceId")
            .map(str::to_string)
            .unwrap_or_else(|| resource_manager_url.clone());
        let require = |key: &str| {
            conn.parameter(key)
                .map(str::to_string)
                .ok_or_else(|| err(format!("the parameter '{key}' is missing")))
        };
        let scheme = conn.scheme.trim().to_ascii_lowercase();
        let auth = match scheme.as_str() {
            "workloadidentityfederation" => AzureAuth::WorkloadIdentityFederation {
                tenant_id: require("tenantid")?,
                client_id: require("serviceprincipalid")?,
                id_token: conn.parameter("idToken").map(str::to_string),
            },
            "serviceprincipal" => {
                let kind = conn
                    .parameter("authenticationType")
                    .unwrap_or("spnKey")
                    .to_ascii_lowercase();
                match kind.as_str() {
                    "spnkey" => AzureAuth::ServicePrincipalSecret {
                        tenant_id: require("tenantid")?,
                        client_id: require("serviceprincipalid")?,
                        secret: require("serviceprincipalkey")?,
                    },
                    "spncertificate" => AzureAuth::ServicePrincipalCertificate {
                        tenant_id: require("tenantid")?,
                        client_id: require("serviceprincipalid")?,
                        pem: require("servicePrincipalCertificate")?,
                    },
                    other => {
                        return Err(err(format!(
                            "the ServicePrincipal authentication type '{other}' is not supported; use spnKey or \
                             spnCertificate"
                        )));
                    }
                }
            }
            "managedserviceidentity" => AzureAuth::ManagedIdentity {
                client_id: conn
                    .data("msiclientId")
                    .or(conn.parameter("msiclientId"))
                    .map(str::to_string),
            },
            "token" => AzureAuth::Token {
                token: require("accessToken")?,
            },
            "" | "none" => AzureAuth::None,
            _ => {
                return Err(err(format!(
                    "the authorisation scheme '{}' is not supported; supported schemes: {}",
                    conn.scheme,
                    SUPPORTED_SCHEMES.join(", ")
                )));
            }
        };
        Ok(Self {
            id: conn.id.clone(),
            resource_manager_url,
            subscription_id: conn.data("subscriptionId").map(str::to_string),
            environment,
            authority,
            resource_id,
            auth,
        })
    }

    /// The secrets this connection carries (to register with `task.setsecret`).
    pub fn secrets(&self) -> Vec<&str> {
        match &self.auth {
            AzureAuth::ServicePrincipalSecret { secret, .. } => vec![secret.as_str()],
            AzureAuth::ServicePrincipalCertificate { pem, .. } => vec![pem.as_str()],
            AzureAuth::WorkloadIdentityFederation {
                id_token: Some(t), ..
            } => vec![t.as_str()],
            AzureAuth::Token { token } => vec![token.as_str()],
            _ => Vec::new(),
        }
    }
}

/// The system VSS connection's access token (`ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN`, falling
/// back to `SYSTEM_ACCESSTOKEN`). Used to request OIDC tokens for workload identity federation.
pub fn system_access_token(env: &TaskEnv) -> Option<String> {
    env.get_nonempty("ENDPOINT_AUTH_PARAMETER_SYSTEMVSSCONNECTION_ACCESSTOKEN")
        .or_else(|| env.get_nonempty("SYSTEM_ACCESSTOKEN"))
        .map(str::to_string)
}
