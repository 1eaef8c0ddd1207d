//! The host allow-list: which hosts each credential may be sent to (docs/azure-client.md, "Where credentials go").
//!
//! Workspace properties name hosts (`discoveryUrl`, the discovery document's `api`, `mlFlowTrackingUri`, a
//! datastore's `blobEndpoint`, the SAS URIs of `startPendingUpload` and of run logs). Whoever can edit a workspace
//! or a datastore could otherwise point them at a host of their own and collect the service principal's token or
//! a storage SAS. So every URL is checked against the connection's cloud before a request carries a credential:
//!
//! - the ARM token: the connection's resource-manager host (and port) and the Azure ML service hosts of its
//!   cloud ([`CloudHosts::ml_suffix`]: `*.api.azureml.ms`, `*.api.ml.azure.us`, `*.api.ml.azure.cn`);
//! - SAS tokens, storage keys and the data they guard: the storage hosts of that cloud
//!   ([`CloudHosts::storage_suffix`]: `*.core.windows.net`, `*.core.usgovcloudapi.net`, `*.core.chinacloudapi.cn`);
//! - a loopback connection (the local workspace, tests): its own host and port only, for everything.
//!
//! A host outside the list fails before the request with an error naming the host and the property it came from.

use std::fmt;

use amlops_agent::AzureEnvironment;
use url::Url;

use crate::http::is_loopback;

/// What a request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The connection's Entra token for Azure Resource Manager (also accepted by the Azure ML data plane).
    ArmToken,
    /// A storage SAS (or a request to storage that carries data).
    StorageSas,
}

impl CredentialKind {
    fn describe(self) -> &'static str {
        match self {
            Self::ArmToken => "the service connection's token",
            Self::StorageSas => "a storage SAS",
        }
    }
}

/// The host suffixes of one Azure cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudHosts {
    /// The cloud's name, for messages.
    pub name: String,
    /// The Azure ML service hosts are subdomains of this (`api.azureml.ms`).
    pub ml_suffix: String,
    /// The storage hosts are subdomains of this (`core.windows.net`).
    pub storage_suffix: String,
}

impl CloudHosts {
    /// The hosts of `cloud`. Azure Stack and unknown clouds have no published Azure ML hosts: their service and
    /// storage hosts are taken to be subdomains of the resource-manager host's parent domain
    /// (`management.local.azurestack.external` → `*.local.azurestack.external`).
    pub fn for_cloud(cloud: &AzureEnvironment, arm_host: &str) -> Self {
        let known = |name: &str, ml: &str, storage: &str| Self {
            name: name.into(),
            ml_suffix: ml.into(),
            storage_suffix: storage.into(),
        };
        // A connection without `environment` data still names its cloud through its ARM host.
        let by_host = match arm_host {
            "management.usgovcloudapi.net" => Some(AzureEnvironment::AzureUsGovernment),
            "management.chinacloudapi.cn" => Some(AzureEnvironment::AzureChinaCloud),
            "management.azure.com" => Some(AzureEnvironment::AzureCloud),
            _ => None,
        };
        let cloud = match (cloud, by_host) {
            (AzureEnvironment::AzureCloud, Some(h)) => h,
            (c, _) => c.clone(),
        };
        match cloud {
            AzureEnvironment::AzureCloud => known("AzureCloud", "api.azureml.ms", "core.windows.net"),
            AzureEnvironment::AzureUsGovernment => {
                known("AzureUSGovernment", "api.ml.azure.us", "core.usgovcloudapi.net")
            }
            AzureEnvironment::AzureChinaCloud => {
                known("AzureChinaCloud", "api.ml.azure.cn", "core.chinacloudapi.cn")
            }
            other => {
                let parent = arm_host.split_once('.').map_or(arm_host, |(_, p)| p).to_string();
                let name = match other {
                    AzureEnvironment::Unknown(n) => n,
                    _ => "AzureStack".into(),
                };
                Self {
                    name,
                    ml_suffix: parent.clone(),
                    storage_suffix: parent,
                }
            }
        }
    }
}

/// Where the credentials of one connection may go. Built by [`crate::AzureMlClient::new`] from the ARM URL and
/// [`crate::ClientConfig::cloud`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAllowList {
    arm_host: String,
    arm_port: Option<u16>,
    loopback: bool,
    cloud: CloudHosts,
}

/// A URL the allow-list refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRefused {
    /// The refused host (with its port when not the default).
    pub host: String,
    /// Where the URL came from (`the workspace's discoveryUrl`...).
    pub property: String,
    /// What the request would have carried.
    pub credential: CredentialKind,
    /// The hosts that are allowed, for the message.
    pub allowed: String,
}

impl fmt::Display for HostRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refusing to send {} to '{}', the host named by {}: it goes only to {}. If this workspace really uses \
             that host, check who changed the property; amlops sends credentials to no other host",
            self.credential.describe(),
            self.host,
            self.property,
            self.allowed
        )
    }
}

impl std::error::Error for HostRefused {}

fn host_of(url: &Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn shown_host(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", host_of(url)),
        None => host_of(url),
    }
}

fn is_subdomain(host: &str, suffix: &str) -> bool {
    !suffix.is_empty()
        && host.len() > suffix.len() + 1
        && host.ends_with(suffix)
        && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
}

impl HostAllowList {
    /// The allow-list of a connection whose resource-manager URL is `arm`, in `cloud`.
    pub fn new(arm: &Url, cloud: &AzureEnvironment) -> Self {
        let arm_host = host_of(arm);
        Self {
            cloud: CloudHosts::for_cloud(cloud, &arm_host),
            arm_port: arm.port_or_known_default(),
            loopback: is_loopback(arm),
            arm_host,
        }
    }

    /// The cloud's hosts.
    pub fn cloud(&self) -> &CloudHosts {
        &self.cloud
    }

    /// Whether `url` may receive `credential`; `property` names where the URL came from, for the error.
    pub fn check(&self, url: &Url, credential: CredentialKind, property: &str) -> Result<(), HostRefused> {
        let host = host_of(url);
        let port = url.port_or_known_default();
        let same_origin = host == self.arm_host && port == self.arm_port;
        let allowed = if self.loopback {
            same_origin
        } else {
            let https = url.scheme() == "https" && port == Some(443);
            match credential {
                CredentialKind::ArmToken => {
                    same_origin || (https && is_subdomain(&host, &self.cloud.ml_suffix))
                }
                CredentialKind::StorageSas => https && is_subdomain(&host, &self.cloud.storage_suffix),
            }
        };
        if allowed {
            return Ok(());
        }
        let arm = match self.arm_port {
            Some(p) if self.loopback || p != 443 => format!("{}:{p}", self.arm_host),
            _ => self.arm_host.clone(),
        };
        let allowed = if self.loopback {
            format!("the local workspace's own address '{arm}'")
        } else {
            match credential {
                CredentialKind::ArmToken => format!(
                    "the resource-manager host '{arm}' and the Azure ML hosts '*.{}' of the {} cloud",
                    self.cloud.ml_suffix, self.cloud.name
                ),
                CredentialKind::StorageSas => format!(
                    "the storage hosts '*.{}' of the {} cloud",
                    self.cloud.storage_suffix, self.cloud.name
                ),
            }
        };
        Err(HostRefused {
            host: shown_host(url),
            property: property.to_string(),
            credential,
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn list(arm: &str, cloud: AzureEnvironment) -> HostAllowList {
        HostAllowList::new(&url(arm), &cloud)
    }

    #[test]
    fn public_cloud_tokens_go_to_arm_and_azure_ml_hosts_only() {
        let l = list("https://management.azure.com/", AzureEnvironment::AzureCloud);
        let ok = |u: &str, k| l.check(&url(u), k, "p").is_ok();
        use CredentialKind::*;
        assert!(ok("https://management.azure.com/subscriptions/x", ArmToken));
        assert!(ok("https://eastus.api.azureml.ms/discovery", ArmToken));
        assert!(ok(
            "https://WS.Workspace.EastUS.api.azureml.ms./history",
            ArmToken
        ));
        assert!(!ok("https://api.azureml.ms/", ArmToken));
        assert!(!ok("https://eastus.api.azureml.ms.evil.example/", ArmToken));
        assert!(!ok("https://evilapi.azureml.ms/", ArmToken));
        assert!(!ok("https://eastus.api.azureml.ms:8443/", ArmToken));
        assert!(!ok("https://management.azure.com:8443/", ArmToken));
        assert!(!ok("https://acct.blob.core.windows.net/c", ArmToken));
        assert!(!ok("https://eastus.api.ml.azure.us/", ArmToken));
        assert!(ok("https://acct.blob.core.windows.net/c?sig=x", StorageSas));
        assert!(!ok(
            "https://acct.blob.core.windows.net.evil.example/c",
            StorageSas
        ));
        assert!(!ok("https://eastus.api.azureml.ms/", StorageSas));
        assert!(!ok("https://acct.blob.core.usgovcloudapi.net/c", StorageSas));
        let e = l
            .check(
                &url("https://evil.example:8443/x?sig=S"),
                ArmToken,
                "the workspace's discoveryUrl",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("'evil.example:8443'"), "{e}");
        assert!(e.contains("the workspace's discoveryUrl"), "{e}");
        assert!(e.contains("*.api.azureml.ms"), "{e}");
        assert!(!e.contains("sig=S"), "{e}");
    }

    #[test]
    fn sovereign_clouds_have_their_own_hosts() {
        use CredentialKind::*;
        let gov = list(
            "https://management.usgovcloudapi.net/",
            AzureEnvironment::AzureUsGovernment,
        );
        assert!(
            gov.check(&url("https://usgovvirginia.api.ml.azure.us/"), ArmToken, "p")
                .is_ok()
        );
        assert!(
            gov.check(&url("https://eastus.api.azureml.ms/"), ArmToken, "p")
                .is_err()
        );
        assert!(
            gov.check(&url("https://a.blob.core.usgovcloudapi.net/"), StorageSas, "p")
                .is_ok()
        );
        assert!(
            gov.check(&url("https://a.blob.core.windows.net/"), StorageSas, "p")
                .is_err()
        );
        let cn = list(
            "https://management.chinacloudapi.cn/",
            AzureEnvironment::AzureChinaCloud,
        );
        assert!(
            cn.check(&url("https://chinaeast2.api.ml.azure.cn/"), ArmToken, "p")
                .is_ok()
        );
        assert!(
            cn.check(&url("https://a.blob.core.chinacloudapi.cn/"), StorageSas, "p")
                .is_ok()
        );
        assert!(
            cn.check(&url("https://a.blob.core.windows.net/"), StorageSas, "p")
                .is_err()
        );
        // No `environment` data, but a Government ARM host: Government hosts.
        let by_host = list(
            "https://management.usgovcloudapi.net/",
            AzureEnvironment::AzureCloud,
        );
        assert_eq!(by_host.cloud().ml_suffix, "api.ml.azure.us");
        let stack = list(
            "https://management.local.azurestack.external/",
            AzureEnvironment::AzureStack,
        );
        assert!(
            stack
                .check(&url("https://a.blob.local.azurestack.external/"), StorageSas, "p")
                .is_ok()
        );
        assert!(
            stack
                .check(&url("https://a.blob.core.windows.net/"), StorageSas, "p")
                .is_err()
        );
    }

    #[test]
    fn a_loopback_connection_allows_only_its_own_address() {
        use CredentialKind::*;
        let l = list("http://127.0.0.1:4100/", AzureEnvironment::AzureCloud);
        assert!(
            l.check(&url("http://127.0.0.1:4100/discovery"), ArmToken, "p")
                .is_ok()
        );
        assert!(
            l.check(&url("http://127.0.0.1:4100/blob/a/c?sig=x"), StorageSas, "p")
                .is_ok()
        );
        for other in [
            "http://127.0.0.1:4101/",
            "http://localhost:4100/",
            "https://eastus.api.azureml.ms/",
            "https://a.blob.core.windows.net/",
        ] {
            let e = l.check(&url(other), ArmToken, "mlFlowTrackingUri").unwrap_err();
            assert!(e.to_string().contains("127.0.0.1:4100"), "{e}");
            assert!(l.check(&url(other), StorageSas, "p").is_err());
        }
    }
}
