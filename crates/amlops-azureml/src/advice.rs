//! What a user can do about an error: one sentence, chosen from the ARM error code, the HTTP status, the Entra ID
//! error code or the transport failure, and appended to the error's message ([`crate::AzureMlError`]'s
//! `Display`). docs/troubleshooting.md explains each case at length; its anchors are the [`Advice::id`]s, and a
//! test renders every message it quotes.

use crate::error::{AzureMlError, ErrorKind};

/// A fix for a class of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advice {
    /// The heading anchor in docs/troubleshooting.md.
    pub id: &'static str,
    /// What to do, one sentence.
    pub text: &'static str,
}

const AUTHORIZATION: Advice = Advice {
    id: "authorizationfailed",
    text: "the service connection's identity lacks a role on the workspace: assign it AzureML Data Scientist \
           (or the action named above) on the workspace, wait a few minutes for the assignment to apply, and run \
           again (docs/troubleshooting.md#authorizationfailed)",
};
const NOT_FOUND: Advice = Advice {
    id: "resourcenotfound",
    text: "check the resourceGroup and workspace inputs, and that the service connection's subscription is the \
           workspace's (docs/troubleshooting.md#resourcenotfound)",
};
const BUSY: Advice = Advice {
    id: "conflict-operation-in-progress",
    text: "another operation (another pipeline, an autoscale, a portal change) kept the resource busy longer than \
           this task waits: run again once it has finished, or raise timeoutMinutes \
           (docs/troubleshooting.md#conflict-operation-in-progress)",
};
const NAME_TAKEN: Advice = Advice {
    id: "conflict-name-taken",
    text: "a resource of that name already exists and cannot be changed this way: choose another name or version, \
           or delete the existing one first (docs/troubleshooting.md#conflict-name-taken)",
};
const QUOTA: Advice = Advice {
    id: "quotaexceeded",
    text: "the subscription has no quota left for this VM family in the workspace's region: request more \
           (Azure portal, Azure Machine Learning, Quotas) or choose another instanceType or a smaller \
           instanceCount (docs/troubleshooting.md#quotaexceeded)",
};
const THROTTLED: Advice = Advice {
    id: "toomanyrequests",
    text: "Azure throttled this identity's requests and the retries did not get through: spread the pipelines \
           that share the service connection, or run again later (docs/troubleshooting.md#toomanyrequests)",
};
const USER_ERROR: Advice = Advice {
    id: "usererror-from-job-validation",
    text: "Azure Machine Learning rejected the request body: the message names the field; `amlops render \
           <file.yml>` prints the body the task sends (docs/troubleshooting.md#usererror-from-job-validation)",
};
const FEDERATION: Advice = Advice {
    id: "workload-identity-federation",
    text: "the federated credential does not match this service connection: its issuer must be \
           https://vstoken.dev.azure.com/<organisation id> and its subject sc://<organisation>/<project>/<connection \
           name>, as the connection's page shows (docs/troubleshooting.md#workload-identity-federation)",
};
const APP_NOT_FOUND: Advice = Advice {
    id: "workload-identity-federation",
    text: "no application with this client id exists in the connection's tenant: check the client id and tenant \
           of the service connection (docs/troubleshooting.md#workload-identity-federation)",
};
const SECRET: Advice = Advice {
    id: "service-principal-secret",
    text: "the service connection's client secret is wrong or has expired: create a new secret for the app \
           registration and update the connection (docs/troubleshooting.md#service-principal-secret)",
};
const UNTRUSTED_CA: Advice = Advice {
    id: "proxy-and-custom-ca",
    text: "the server's certificate was issued by a CA this machine does not trust (often a TLS-inspecting proxy): \
           set SSL_CERT_FILE in the agent's environment to a PEM file holding that CA \
           (docs/troubleshooting.md#proxy-and-custom-ca)",
};
const PROXY_AUTH: Advice = Advice {
    id: "proxy-and-custom-ca",
    text: "the proxy asks for credentials: configure the agent's proxy user and password \
           (docs/troubleshooting.md#proxy-and-custom-ca)",
};

impl AzureMlError {
    /// What the user can do about this error, when the project knows.
    pub fn advice(&self) -> Option<Advice> {
        let code = self
            .arm
            .as_ref()
            .and_then(|a| a.code.as_deref())
            .unwrap_or_default();
        let arm_message = self
            .arm
            .as_ref()
            .and_then(|a| a.message.as_deref())
            .unwrap_or_default();
        match (self.kind, self.status) {
            (ErrorKind::Authentication, _) => entra_advice(&self.message),
            (ErrorKind::Transport, _) => transport_advice(self),
            (_, Some(403))
                if code.eq_ignore_ascii_case("AuthorizationFailed")
                    || code.eq_ignore_ascii_case("LinkedAuthorizationFailed") =>
            {
                Some(AUTHORIZATION)
            }
            (_, Some(404))
                if matches!(
                    code,
                    "ResourceGroupNotFound" | "SubscriptionNotFound" | "WorkspaceNotFound"
                ) || (code == "ResourceNotFound" && self.operation.starts_with("workspaces.")) =>
            {
                Some(NOT_FOUND)
            }
            (_, Some(409))
                if in_progress(arm_message) || crate::lro::is_transient_conflict(409, self.arm.as_ref()) =>
            {
                Some(BUSY)
            }
            (_, Some(409)) => Some(NAME_TAKEN),
            (_, Some(429)) => Some(THROTTLED),
            _ if is_quota(code, arm_message) => Some(QUOTA),
            (_, Some(400)) if code == "UserError" => Some(USER_ERROR),
            _ => None,
        }
    }
}

/// Whether an ARM message says another operation is running.
fn in_progress(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("in progress") || m.contains("another operation")
}

fn is_quota(code: &str, message: &str) -> bool {
    let c = code.to_ascii_lowercase();
    c.contains("quota") || (c == "usererror" && message.to_ascii_lowercase().contains("quota"))
}

/// Entra ID (AADSTS) error codes in a refused token request.
fn entra_advice(message: &str) -> Option<Advice> {
    if message.contains("AADSTS70021") || message.contains("AADSTS700213") || message.contains("AADSTS700212")
    {
        Some(FEDERATION)
    } else if message.contains("AADSTS700016") {
        Some(APP_NOT_FOUND)
    } else if message.contains("AADSTS7000215") || message.contains("AADSTS7000222") {
        Some(SECRET)
    } else {
        None
    }
}

/// TLS and proxy failures, recognised in the transport error's causes.
fn transport_advice(error: &AzureMlError) -> Option<Advice> {
    let mut chain = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        chain.push_str(&e.to_string());
        chain.push(' ');
        source = e.source();
    }
    if chain.contains("UnknownIssuer") || chain.contains("invalid peer certificate") {
        Some(UNTRUSTED_CA)
    } else if chain.contains("407") || chain.contains("Proxy Authentication Required") {
        Some(PROXY_AUTH)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn with(status: u16, code: &str, message: &str, operation: &str) -> AzureMlError {
        let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
        AzureMlError::new(ErrorKind::Status, operation, "failed").with_response(
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            false,
        )
    }

    #[test]
    fn each_class_of_error_gets_its_fix() {
        let id = |e: AzureMlError| e.advice().map(|a| a.id);
        assert_eq!(
            id(with(403, "AuthorizationFailed", "no", "jobs.get")),
            Some("authorizationfailed")
        );
        assert_eq!(
            id(with(404, "ResourceNotFound", "no", "workspaces.get")),
            Some("resourcenotfound")
        );
        assert_eq!(
            id(with(404, "ResourceGroupNotFound", "no", "jobs.get")),
            Some("resourcenotfound")
        );
        // a job that does not exist is not a workspace mismatch
        assert_eq!(id(with(404, "ResourceNotFound", "no", "jobs.get")), None);
        assert_eq!(
            id(with(
                409,
                "Conflict",
                "Endpoint churn has an operation in progress",
                "onlineEndpoints.update"
            )),
            Some("conflict-operation-in-progress")
        );
        assert_eq!(
            id(with(
                409,
                "UserError",
                "Model version exists",
                "models.createOrUpdate"
            )),
            Some("conflict-name-taken")
        );
        assert_eq!(
            id(with(400, "QuotaExceeded", "Not enough quota", "deployments.put")),
            Some("quotaexceeded")
        );
        assert_eq!(
            id(with(
                400,
                "UserError",
                "Not enough quota available",
                "deployments.put"
            )),
            Some("quotaexceeded")
        );
        assert_eq!(
            id(with(429, "TooManyRequests", "slow down", "jobs.get")),
            Some("toomanyrequests")
        );
        assert_eq!(
            id(with(400, "UserError", "bad field", "jobs.createOrUpdate")),
            Some("usererror-from-job-validation")
        );
        assert_eq!(id(with(500, "InternalError", "oops", "jobs.get")), None);
        let auth = |m: &str| {
            AzureMlError::new(ErrorKind::Authentication, "authentication", m)
                .advice()
                .map(|a| a.id)
        };
        assert_eq!(
            auth("x: AADSTS70021: No matching federated identity record"),
            Some("workload-identity-federation")
        );
        assert_eq!(
            auth("x: AADSTS7000222: The provided client secret keys are expired"),
            Some("service-principal-secret")
        );
        assert_eq!(auth("x: AADSTS50058: something else"), None);
    }

    #[test]
    fn the_fix_is_part_of_the_message() {
        let text = with(
            403,
            "AuthorizationFailed",
            "The client has no authorization",
            "jobs.get",
        )
        .to_string();
        assert!(
            text.ends_with(&format!(". To fix: {}", AUTHORIZATION.text)),
            "{text}"
        );
        let plain = with(500, "InternalError", "oops", "jobs.get").to_string();
        assert!(!plain.contains("To fix"), "{plain}");
    }
}
