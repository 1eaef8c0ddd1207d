//! Long-running operations (API guide §0) and busy resources.
//!
//! - [`AzureMlClient::wait_for_operation`]: poll `Azure-AsyncOperation` (or `Location` while it answers 202) to a
//!   terminal status, honouring `Retry-After`, cancellation and [`crate::PollOptions::timeout`].
//! - Busy resources: Azure ML answers `409 Conflict` to a write on an endpoint, deployment or job that has another
//!   operation in flight (another pipeline's deployment, an autoscale, our own previous step). Every ARM write
//!   (PUT, PATCH, DELETE, POST) that gets such a 409 ([`is_transient_conflict`]) waits the operation out: it follows
//!   the operation in flight when its status URL is known (`Azure-AsyncOperation`/`Location` on the 409, or the
//!   ARM URL the message gives), otherwise it retries with backoff ([`ConflictOptions`]), bounded by
//!   [`ConflictOptions::max_wait`], [`crate::PollOptions::timeout`] and the client's cancellation. A 409 that is
//!   not transient (name taken, immutable field) fails at once with the ARM code and message.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;
use url::Url;

use crate::client::{AzureMlClient, Call};
use crate::error::{ArmError, AzureMlError, ErrorKind};
use crate::http::{BufferedResponse, redact_url};
use crate::models::{AsyncOperation, OperationStatus};

/// How a write that meets a busy resource is retried.
///
/// Defaults: the first wait 5 s, doubling to 60 s (or the server's `Retry-After`, or the in-flight operation's
/// own polling), for at most 30 minutes from the first 409 (never longer than [`crate::PollOptions::timeout`]).
#[derive(Debug, Clone)]
pub struct ConflictOptions {
    /// The longest total wait for one write, from its first 409.
    pub max_wait: Duration,
    /// The first wait when the operation in flight cannot be followed.
    pub initial_backoff: Duration,
    /// The longest single wait.
    pub max_backoff: Duration,
}

impl Default for ConflictOptions {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(30 * 60),
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// ARM error codes that mean "another operation is in progress on this resource; retry when it has finished",
/// whatever the message: Azure ML's own (`OperationDuplicationConflict`: "Conflict of operation, another operation
/// on same entity is already running"), and the ARM-wide ones other resource providers answer with.
pub const TRANSIENT_CONFLICT_CODES: &[&str] = &[
    "OperationDuplicationConflict",
    "AnotherOperationInProgress",
    "OperationInProgress",
    "ConflictingOperationInProgress",
    "OperationNotAllowedOnResourceInTransition",
    "ResourceBusy",
    "DeploymentActive",
];

/// Message phrases of a transient conflict under a generic code (`Conflict`, `RequestConflict`, `UserError`):
/// "has an operation in progress", "Cannot create a deployment in endpoint X because it is in Updating
/// provisioning state", "Another operation is being performed on the parent resource".
const BUSY_PHRASES: &[&str] = &[
    "operation in progress",
    "operation is in progress",
    "operations in progress",
    "operation is already in progress",
    "another operation",
    "already running",
    "currently being updated",
    "is being performed",
    "in creating provisioning state",
    "in updating provisioning state",
    "in deleting provisioning state",
    "in scaling provisioning state",
    "retry when it has finished",
    "retry after it completes",
];

/// Phrases of a conflict that waiting cannot fix; they win over [`BUSY_PHRASES`].
const PERMANENT_PHRASES: &[&str] = &[
    "already exists",
    "already in use",
    "is taken",
    "cannot be updated",
    "cannot be changed",
    "cannot be modified",
    "immutable",
    "not allowed to change",
];

fn all_errors(arm: &ArmError) -> Vec<&ArmError> {
    let mut out = vec![arm];
    let mut i = 0;
    while i < out.len() && out.len() < 64 {
        let next: Vec<&ArmError> = out[i].details.iter().collect();
        out.extend(next);
        i += 1;
    }
    out
}

/// Whether a response is a conflict worth waiting out: HTTP 409 whose ARM error (or one of its details) has a
/// [`TRANSIENT_CONFLICT_CODES`] code, or whose message says another operation is in progress, and nothing says the
/// conflict is permanent (name taken, immutable field).
pub fn is_transient_conflict(status: u16, arm: Option<&ArmError>) -> bool {
    if status != 409 {
        return false;
    }
    let Some(arm) = arm else {
        return false;
    };
    let errors = all_errors(arm);
    let text: String = errors
        .iter()
        .filter_map(|e| e.message.as_deref())
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    if PERMANENT_PHRASES.iter().any(|p| text.contains(p)) {
        return false;
    }
    let coded = errors.iter().any(|e| {
        e.code.as_deref().is_some_and(|c| {
            TRANSIENT_CONFLICT_CODES
                .iter()
                .any(|t| t.eq_ignore_ascii_case(c.trim()))
        })
    });
    coded || BUSY_PHRASES.iter().any(|p| text.contains(p))
}

/// The progress of one write through busy answers.
#[derive(Debug, Default)]
pub(crate) struct ConflictState {
    started: Option<Instant>,
    waits: u32,
}

/// Where the operation in flight can be watched.
enum StatusUrl {
    /// An `Azure-AsyncOperation` resource (`{"status": ...}`).
    AsyncOperation(Url),
    /// A `Location` URL that answers 202 while the operation runs.
    Location(Url),
}

impl AzureMlClient {
    /// After a 409 from an ARM write: if it is a transient conflict, wait (follow the operation in flight, else
    /// back off) and return `Ok(true)` so the caller sends the write again; `Ok(false)` when the 409 is not
    /// transient (the caller fails with it); an error when the wait budget is spent or the task is cancelled.
    pub(crate) async fn wait_out_conflict(
        &self,
        call: &Call<'_>,
        resp: &BufferedResponse,
        state: &mut ConflictState,
    ) -> Result<bool, AzureMlError> {
        let status = resp.status.as_u16();
        let arm = ArmError::from_body(&resp.body);
        if call.method == Method::GET || !is_transient_conflict(status, arm.as_ref()) {
            return Ok(false);
        }
        let arm = arm.unwrap_or_default();
        let options = &self.config.conflict;
        let budget = options.max_wait.min(self.config.poll.timeout);
        let started = *state.started.get_or_insert_with(Instant::now);
        let deadline = started + budget;
        let now = Instant::now();
        if now >= deadline {
            let busy = AzureMlError::new(ErrorKind::Status, call.op, "the resource is busy")
                .with_request(&call.method, redact_url(&call.url))
                .with_response(status, &resp.headers, &resp.body, call.secret_response);
            let mut e = AzureMlError::new(
                ErrorKind::Timeout,
                call.op,
                format!(
                    "the resource stayed busy with another operation for {} s after {} attempt(s) (the longest \
                     wait for a busy resource); the service said: {arm}",
                    now.duration_since(started).as_secs(),
                    state.waits + 1,
                ),
            )
            .with_request(&call.method, redact_url(&call.url));
            e.request_id = busy.request_id.clone();
            e.correlation_id = busy.correlation_id.clone();
            return Err(e.with_source(busy));
        }
        state.waits += 1;
        let left = deadline - now;
        match self.status_url_of_conflict(resp, &arm) {
            Some(url) => {
                tracing::info!(
                    "{}: the resource has another operation in progress ({arm}); following that operation before \
                     trying again",
                    call.op
                );
                self.follow_operation(call.op, url, left).await?;
            }
            None => {
                let backoff = options
                    .initial_backoff
                    .saturating_mul(1u32 << state.waits.saturating_sub(1).min(16))
                    .min(options.max_backoff);
                let wait = crate::http::server_delay(&resp.headers)
                    .unwrap_or(backoff)
                    .min(left);
                tracing::info!(
                    "{}: the resource has another operation in progress ({arm}); trying again in {:.1} s (waited \
                     {} s so far, at most {} s)",
                    call.op,
                    wait.as_secs_f64(),
                    now.duration_since(started).as_secs(),
                    budget.as_secs()
                );
                self.config
                    .retry
                    .sleep(wait, &self.cancel)
                    .await
                    .map_err(|_| AzureMlError::canceled(call.op))?;
            }
        }
        Ok(true)
    }

    /// The status URL of the operation a 409 says is in flight: `Azure-AsyncOperation` or `Location` on the
    /// response, else an ARM operation URL in the message ("To retrieve status of the operation use uri: ..."). Only
    /// URLs on the ARM host (the token goes there).
    fn status_url_of_conflict(&self, resp: &BufferedResponse, arm: &ArmError) -> Option<StatusUrl> {
        let on_arm = |raw: &str| self.arm.join(raw.trim()).ok().filter(|u| self.same_origin(u));
        if let Some(u) = resp.header("azure-asyncoperation").and_then(on_arm) {
            return Some(StatusUrl::AsyncOperation(u));
        }
        if let Some(u) = resp.header("location").and_then(on_arm) {
            return Some(StatusUrl::Location(u));
        }
        let text = all_errors(arm)
            .iter()
            .filter_map(|e| e.message.clone())
            .collect::<Vec<_>>()
            .join(" ");
        text.split_whitespace()
            .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
            .map(|w| w.trim_end_matches(['.', ',', ')', '"', '\'', ';']))
            .filter_map(|w| Url::parse(w).ok())
            .filter(|u| self.same_origin(u))
            .find(|u| {
                let p = u.path().to_ascii_lowercase();
                p.contains("/operations/")
                    || p.contains("operationstatus")
                    || p.contains("operationresults")
                    || p.contains("mfeoperations")
            })
            .map(StatusUrl::AsyncOperation)
    }

    /// Watch someone else's operation until it ends (any terminal status: its outcome is not ours), its status URL
    /// stops answering, or `left` runs out. Only cancellation is an error.
    async fn follow_operation(&self, op: &str, url: StatusUrl, left: Duration) -> Result<(), AzureMlError> {
        let until = Instant::now() + left;
        let mut wait = Duration::ZERO;
        loop {
            let now = Instant::now();
            if now >= until {
                return Ok(());
            }
            self.config
                .retry
                .sleep(wait.min(until - now), &self.cancel)
                .await
                .map_err(|_| AzureMlError::canceled(op))?;
            let (u, is_async) = match &url {
                StatusUrl::AsyncOperation(u) => (u, true),
                StatusUrl::Location(u) => (u, false),
            };
            // Boxed: `call` waits out conflicts through this function (a GET never does, but the types recurse).
            let r = match Box::pin(self.call(Call::new(op, Method::GET, u.clone()))).await {
                Ok(r) => r,
                Err(e) if e.is_canceled() => return Err(e),
                Err(e) => {
                    tracing::debug!(op, error = %e, "the operation in progress cannot be followed; retrying the write");
                    return Ok(());
                }
            };
            let done = if is_async {
                serde_json::from_slice::<AsyncOperation>(&r.body)
                    .map(|s| s.status.is_terminal())
                    .unwrap_or(true)
            } else {
                r.status.as_u16() != 202
            };
            if done {
                return Ok(());
            }
            wait = self.poll_delay(&r.headers);
        }
    }

    /// Wait for a long-running operation started by `resp` (§0): poll `Azure-AsyncOperation` until a terminal
    /// status (Failed/Canceled → [`ErrorKind::OperationFailed`] with the ARM error), else poll `Location` while it
    /// answers 202. Honours `Retry-After`, cancellation and [`crate::PollOptions::timeout`].
    pub async fn wait_for_operation(&self, op: &str, resp: &BufferedResponse) -> Result<(), AzureMlError> {
        let start = tokio::time::Instant::now();
        let header_url = |name: &str| -> Result<Option<Url>, AzureMlError> {
            let Some(v) = resp.header(name) else {
                return Ok(None);
            };
            let u = self.arm.join(v).map_err(|e| {
                AzureMlError::new(
                    ErrorKind::Decode,
                    op,
                    format!("the {name} header is not a URL: {e}"),
                )
            })?;
            if !self.same_origin(&u) {
                return Err(AzureMlError::new(
                    ErrorKind::Decode,
                    op,
                    format!(
                        "the {name} URL '{}' points to another host; refusing to send the token there",
                        redact_url(&u)
                    ),
                ));
            }
            Ok(Some(u))
        };
        let mut wait = self.poll_delay(&resp.headers);
        if let Some(url) = header_url("azure-asyncoperation")? {
            loop {
                self.poll_sleep(op, start, wait).await?;
                let r = self.call(Call::new(op, Method::GET, url.clone())).await?;
                let status: AsyncOperation = Self::decode(op, &Method::GET, &url, &r, false)?;
                tracing::debug!(op, status = %status.status, "operation status");
                match status.status {
                    OperationStatus::Succeeded => return Ok(()),
                    OperationStatus::Failed | OperationStatus::Canceled => {
                        let mut e = AzureMlError::new(
                            ErrorKind::OperationFailed,
                            op,
                            format!("the operation ended {}", status.status),
                        )
                        .with_request(&Method::GET, redact_url(&url));
                        e.arm = status.error;
                        e.status = Some(r.status.as_u16());
                        e.request_id = r.header("x-ms-request-id").map(str::to_string);
                        e.correlation_id = r.header("x-ms-correlation-request-id").map(str::to_string);
                        return Err(e);
                    }
                    _ => wait = self.poll_delay(&r.headers),
                }
            }
        }
        if resp.status.as_u16() == 202
            && let Some(url) = header_url("location")?
        {
            loop {
                self.poll_sleep(op, start, wait).await?;
                let r = self.call(Call::new(op, Method::GET, url.clone())).await?;
                if r.status.as_u16() != 202 {
                    return Ok(());
                }
                wait = self.poll_delay(&r.headers);
            }
        }
        Ok(())
    }

    pub(crate) fn poll_delay(&self, headers: &HeaderMap) -> Duration {
        let poll = &self.config.poll;
        crate::http::server_delay(headers)
            .map(|d| d.min(poll.max_interval))
            .unwrap_or(poll.interval)
    }

    async fn poll_sleep(
        &self,
        op: &str,
        start: tokio::time::Instant,
        wait: Duration,
    ) -> Result<(), AzureMlError> {
        let timeout = self.config.poll.timeout;
        if start.elapsed().saturating_add(wait) > timeout {
            return Err(AzureMlError::new(
                ErrorKind::Timeout,
                op,
                format!("the operation did not finish within {} s", timeout.as_secs()),
            ));
        }
        self.config
            .retry
            .sleep(wait, &self.cancel)
            .await
            .map_err(|_| AzureMlError::canceled(op))
    }

    /// PUT a resource that is an LRO (endpoints, deployments, schedules), wait, then GET it.
    pub(crate) async fn put_lro<B: Serialize, T: DeserializeOwned>(
        &self,
        op: &str,
        url: Url,
        body: &B,
    ) -> Result<T, AzureMlError> {
        let resp = self
            .call(Call::new(op, Method::PUT, url.clone()).json(body)?)
            .await?;
        self.wait_for_operation(op, &resp).await?;
        self.get_json(op, url).await
    }

    /// PUT an online endpoint like [`AzureMlClient::create_or_update_online_endpoint`], calling `accepted` as soon
    /// as the service has accepted the write (2xx, after any wait for a busy endpoint), before the operation ends.
    pub async fn create_or_update_online_endpoint_observed(
        &self,
        name: &str,
        endpoint: &crate::models::OnlineEndpoint,
        accepted: impl FnOnce(),
    ) -> Result<crate::models::OnlineEndpoint, AzureMlError> {
        const OP: &str = "onlineEndpoints.createOrUpdate";
        let url = self.ws_url(OP, &["onlineEndpoints", name])?;
        let resp = self
            .call(Call::new(OP, Method::PUT, url.clone()).json(endpoint)?)
            .await?;
        accepted();
        self.wait_for_operation(OP, &resp).await?;
        self.get_json(OP, url).await
    }

    pub(crate) async fn patch_lro<T: DeserializeOwned>(
        &self,
        op: &str,
        url: Url,
        body: &Value,
    ) -> Result<T, AzureMlError> {
        let resp = self
            .call(Call::new(op, Method::PATCH, url.clone()).json(body)?)
            .await?;
        self.wait_for_operation(op, &resp).await?;
        self.get_json(op, url).await
    }

    pub(crate) async fn delete_lro(&self, op: &str, url: Url) -> Result<(), AzureMlError> {
        let resp = self.call(Call::new(op, Method::DELETE, url)).await?;
        self.wait_for_operation(op, &resp).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(code: &str, message: &str) -> ArmError {
        ArmError {
            code: Some(code.into()),
            message: Some(message.into()),
            ..ArmError::default()
        }
    }

    #[test]
    fn transient_conflicts_by_code_or_message() {
        for (code, message) in [
            (
                "OperationDuplicationConflict",
                "Conflict of operation, another operation on same entity is already running in workspace ws.",
            ),
            (
                "AnotherOperationInProgress",
                "The resource is currently being updated.",
            ),
            (
                "Conflict",
                "Endpoint 'ep' has an operation in progress; retry after it completes.",
            ),
            (
                "UserError",
                "Cannot create a deployment in endpoint ep because it is in Updating provisioning state.",
            ),
            (
                "RequestConflict",
                "Another operation is being performed on the parent resource.",
            ),
        ] {
            assert!(
                is_transient_conflict(409, Some(&arm(code, message))),
                "{code}: {message}"
            );
        }
        // A generic outer code with the real one in the details.
        let mut outer = arm("Conflict", "Conflict");
        outer.details.push(arm("OperationDuplicationConflict", "busy"));
        assert!(is_transient_conflict(409, Some(&outer)));
    }

    #[test]
    fn permanent_conflicts_and_other_statuses_are_not_waited_out() {
        for (code, message) in [
            (
                "Conflict",
                "An endpoint named 'ep' already exists in this region.",
            ),
            (
                "UserError",
                "The model path is immutable: asset paths cannot be updated.",
            ),
            ("Conflict", "Conflict"),
            // A busy code, but the message says the name is taken: waiting cannot help.
            ("OperationInProgress", "The name 'ep' is already in use."),
        ] {
            assert!(
                !is_transient_conflict(409, Some(&arm(code, message))),
                "{code}: {message}"
            );
        }
        assert!(!is_transient_conflict(409, None));
        assert!(!is_transient_conflict(
            400,
            Some(&arm("OperationDuplicationConflict", "busy"))
        ));
    }
}
