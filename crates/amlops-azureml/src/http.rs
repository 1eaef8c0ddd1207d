//! The shared HTTP client and retry policy. Every HTTP call of amlops (ARM, data plane, blob storage, token
//! requests, webhooks) goes through a client built by [`build_client`] and, where it can be retried, through
//! [`RetryPolicy`].
//!
//! This API is stable: the events crate (webhook delivery) and the local workspace build on it.
//!
//! - [`build_client`]: proxy (with credentials and bypass rules), system roots plus the `SSL_CERT_FILE` bundle,
//!   `User-Agent: amlops/<version>`, connect/read timeouts.
//! - [`check_url`]: `https` everywhere; `http` only for loopback hosts (127.0.0.0/8, ::1, localhost).
//! - [`RetryPolicy`]: 408/429/500/502/503/504 and connection errors, `Retry-After` (seconds or HTTP date) and
//!   `x-ms-retry-after-ms`, exponential backoff with jitter, bounded attempts and total time, cancellable. Waits use
//!   `tokio::time` (tests run with paused time) or an injected [`Sleeper`]. Bodies are read up to
//!   [`RetryPolicy::max_body`] bytes (a larger `Content-Length` or body is an error, not an allocation).
//! - Numbers a server sends never panic: waits go through [`clamp_secs`] (NaN, negative, infinite and huge values
//!   are clamped to 0..=[`MAX_SERVER_DELAY`]).
//! - [`redact_url`]: a URL safe to show (query values other than a few harmless keys are replaced).
//!
//! The code lives in private submodules, re-exported here: `setup` (client and proxy bypass), `urls` (URL checks and
//! redaction), `retry` (the policy, its errors and the clamped server waits).

mod retry;
mod setup;
mod urls;

use std::sync::Arc;

pub use retry::{
    BufferedResponse, DEFAULT_MAX_BODY, Idempotency, MAX_SERVER_DELAY, RetryPolicy, SendError, Sleeper,
    clamp_secs, error_summary, format_http_date, parse_http_date, server_delay,
};
pub use setup::{ClientOptions, HttpSetupError, build_client, build_client_with};
pub use urls::{
    SAFE_QUERY_KEYS, UrlError, check_url, is_loopback, is_safe_query_key, parse_checked_url, redact_url,
    redact_url_str,
};

/// The `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("amlops/", env!("CARGO_PKG_VERSION"));

/// A callback that is given every secret (token, key, SAS) the moment it is obtained, before anything can log it.
/// Tasks pass `move |s| output.register_secret(s)`.
pub type SecretSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A sink that ignores secrets (tests, the local workspace).
pub fn ignore_secrets() -> SecretSink {
    Arc::new(|_| {})
}
