//! Webhook delivery over the shared client and retry policy of `amlops_azureml::http`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use amlops_agent::{CancellationToken, Output};
use amlops_azureml::http::{Idempotency, RetryPolicy, SendError, error_summary};
use futures::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::cloudevent::CloudEvent;
use crate::notify::{NotifyTarget, SinkKind};
use crate::payload::{
    CLOUDEVENTS_BATCH_CONTENT_TYPE, CLOUDEVENTS_CONTENT_TYPE, SIGNATURE_HEADER, event_grid_body, signature,
    slack_message, teams_message, webhook_body,
};

/// The OAuth scope of an Entra token for publishing to Event Grid.
pub const EVENT_GRID_SCOPE: &str = "https://eventgrid.azure.net/.default";
/// The api-version added to a custom topic's `/api/events` URL that has none.
pub const EVENT_GRID_API_VERSION: &str = "2018-01-01";
/// The header carrying an Event Grid topic access key.
pub const EVENT_GRID_KEY_HEADER: &str = "aeg-sas-key";

/// The error a token provider returns.
pub type TokenError = Box<dyn std::error::Error + Send + Sync>;

/// Gets an Entra access token for a scope (Event Grid topics without an access key). The task wires it to its
/// Azure credential; closures `Fn(&str) -> impl Future<Output = Result<String, TokenError>>` implement it.
pub trait TokenProvider: Send + Sync {
    /// A bearer token for `scope`.
    fn token(&self, scope: &str) -> BoxFuture<'static, Result<String, TokenError>>;
}

impl<F, Fut> TokenProvider for F
where
    F: Fn(&str) -> Fut + Send + Sync,
    Fut: Future<Output = Result<String, TokenError>> + Send + 'static,
{
    fn token(&self, scope: &str) -> BoxFuture<'static, Result<String, TokenError>> {
        Box::pin(self(scope))
    }
}

/// A [`TokenProvider`] over the task's Azure credential (the service connection's identity). The credential caches
/// tokens and registers each new one as a secret.
pub fn credential_token_provider(credential: Arc<amlops_azureml::Credential>) -> Arc<dyn TokenProvider> {
    Arc::new(move |scope: &str| {
        let credential = credential.clone();
        let scope = scope.to_string();
        async move {
            // Not the task's token: a job.canceled event must still be delivered after cancellation.
            let never = CancellationToken::new();
            credential
                .token(&scope, &never)
                .await
                .map_err(|e| TokenError::from(e.to_string()))
        }
    })
}

/// Sends one event to one target.
#[derive(Clone)]
pub(crate) struct Transport {
    pub client: reqwest::Client,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub token_provider: Option<Arc<dyn TokenProvider>>,
    pub output: Output,
}

/// What went wrong with one delivery (no URL in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub reason: String,
    pub attempts: u32,
}

impl Transport {
    /// Deliver `event` to `target`; `Ok(attempts)` on a 2xx answer.
    pub async fn deliver(
        &self,
        target: &NotifyTarget,
        event: &CloudEvent,
        hmac_secret: Option<&str>,
        retry: &RetryPolicy,
    ) -> Result<u32, Failure> {
        let mut headers: Vec<(&'static str, String)> = Vec::new();
        let mut url = target.url.clone();
        let (content_type, body) = match target.kind {
            SinkKind::Teams => (
                "application/json",
                serde_json::to_vec(&teams_message(event)).unwrap_or_default(),
            ),
            SinkKind::Slack => (
                "application/json",
                serde_json::to_vec(&slack_message(event)).unwrap_or_default(),
            ),
            SinkKind::Webhook => {
                let body = webhook_body(event);
                if let Some(secret) = hmac_secret {
                    headers.push((SIGNATURE_HEADER, signature(secret, &body)));
                }
                (CLOUDEVENTS_CONTENT_TYPE, body)
            }
            SinkKind::EventGrid => {
                if matches!(url.path(), "" | "/") {
                    url.set_path("/api/events");
                }
                if url.path() == "/api/events" && !url.query_pairs().any(|(k, _)| k == "api-version") {
                    url.query_pairs_mut()
                        .append_pair("api-version", EVENT_GRID_API_VERSION);
                }
                match &target.access_key {
                    Some(key) => headers.push((EVENT_GRID_KEY_HEADER, key.clone())),
                    None => {
                        let token = self.event_grid_token().await?;
                        headers.push((AUTHORIZATION.as_str(), format!("Bearer {token}")));
                    }
                }
                (CLOUDEVENTS_BATCH_CONTENT_TYPE, event_grid_body(event))
            }
        };
        // Deliveries have their own token: a job.canceled event must still go out after the task was cancelled.
        let never = CancellationToken::new();
        let result = retry
            .execute(&never, Idempotency::Idempotent, || {
                let mut request = self
                    .client
                    .post(url.clone())
                    .timeout(self.timeout)
                    .header(CONTENT_TYPE, content_type);
                for (name, value) in &headers {
                    request = request.header(*name, value.as_str());
                }
                request.body(body.clone())
            })
            .await;
        match result {
            Ok(resp) if resp.status.is_success() => Ok(resp.attempts),
            Ok(resp) => {
                let text = String::from_utf8_lossy(&resp.body);
                let snippet: String = text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(200)
                    .collect();
                let reason = if snippet.is_empty() {
                    format!("HTTP {}", resp.status.as_u16())
                } else {
                    format!("HTTP {}: {snippet}", resp.status.as_u16())
                };
                Err(Failure {
                    reason,
                    attempts: resp.attempts,
                })
            }
            Err(e) => Err(send_failure(&e)),
        }
    }

    async fn event_grid_token(&self) -> Result<String, Failure> {
        let Some(provider) = &self.token_provider else {
            return Err(Failure {
                reason: "no Azure credential for an Entra token".into(),
                attempts: 0,
            });
        };
        match provider.token(EVENT_GRID_SCOPE).await {
            Ok(token) => {
                self.output.register_secret(&token);
                Ok(token)
            }
            Err(e) => Err(Failure {
                reason: format!("could not get an Entra token for Event Grid: {e}"),
                attempts: 0,
            }),
        }
    }
}

/// A failure description without the URL (the retry policy's own messages include the path, which may hold a key).
fn send_failure(e: &SendError) -> Failure {
    match e {
        SendError::Transport { attempts, source, .. } => Failure {
            reason: error_summary(source),
            attempts: *attempts,
        },
        SendError::Canceled { .. } => Failure {
            reason: "cancelled".into(),
            attempts: 1,
        },
        SendError::Build { problem, .. } => Failure {
            reason: format!("the request could not be built: {problem}"),
            attempts: 0,
        },
        SendError::Url(_) => Failure {
            reason: "the URL is not allowed (https only, http only for loopback)".into(),
            attempts: 0,
        },
        SendError::TooLarge { limit, .. } => Failure {
            reason: format!("the response body is larger than {limit} bytes"),
            attempts: 1,
        },
    }
}
