//! The retry policy every retried HTTP call uses ([`RetryPolicy`] `send` / `execute`, [`Idempotency`]), its
//! errors ([`SendError`]) and buffered responses, and the clamped server waits (`Retry-After` in seconds or as an
//! HTTP date, `x-ms-retry-after-ms`: [`server_delay`], [`clamp_secs`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use amlops_agent::{Canceled, CancellationToken};
use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

use super::urls::{UrlError, check_url, redact_url};

/// How waits are performed. The default uses `tokio::time::sleep`, so tests can run with paused time.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// Whether a request may be repeated after it may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, PUT, DELETE, and POSTs that only read or are safe to repeat (listKeys, listSecrets, getLogs, cancel,
    /// startPendingUpload): retried on 408/429/5xx and on any connection error.
    Idempotent,
    /// A POST that may take effect twice (scoring, webhooks without a delivery id): retried only when the request
    /// cannot have been processed: connection not established, 429, or 503 with `Retry-After`.
    NonIdempotent,
}

/// The longest wait a server can ask for as far as the client is concerned; larger values are clamped to it (and
/// then exceed [`RetryPolicy::max_retry_after`], which ends the retries).
pub const MAX_SERVER_DELAY: Duration = Duration::from_secs(24 * 3600);

/// The default [`RetryPolicy::max_body`]: 128 MiB.
pub const DEFAULT_MAX_BODY: usize = 128 * 1024 * 1024;

/// Seconds from a server (any float) as a [`Duration`] in 0..=[`MAX_SERVER_DELAY`]: NaN and negative values are 0,
/// infinite and huge ones the maximum. Never panics (unlike `Duration::from_secs_f64`).
pub fn clamp_secs(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs)
        .unwrap_or(MAX_SERVER_DELAY)
        .min(MAX_SERVER_DELAY)
}

/// The retry policy. All waits honour the cancellation token.
///
/// Defaults: 6 attempts, backoff 1 s doubling to at most 30 s with ±20 % jitter, a server's `Retry-After` honoured
/// up to 120 s, at most 5 minutes from the first attempt to the start of the last, bodies up to 128 MiB.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts including the first (at least 1). Default 6.
    pub max_attempts: u32,
    /// The first backoff. Default 1 s.
    pub initial_backoff: Duration,
    /// The largest backoff. Default 30 s.
    pub max_backoff: Duration,
    /// The longest server-requested wait (`Retry-After`, `x-ms-retry-after-ms`) honoured; a longer one ends the
    /// retries. Default 120 s.
    pub max_retry_after: Duration,
    /// No retry starts later than this after the first attempt. Default 300 s.
    pub max_total: Duration,
    /// Jitter as a fraction of the backoff (0.2 = ±20 %). Not applied to server-requested waits. Default 0.2.
    pub jitter: f64,
    /// The largest response body read ([`RetryPolicy::execute`]); a larger one fails with
    /// [`SendError::TooLarge`]. Default [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    sleeper: Option<Sleeper>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("max_retry_after", &self.max_retry_after)
            .field("max_total", &self.max_total)
            .field("jitter", &self.jitter)
            .field("max_body", &self.max_body)
            .field("custom_sleeper", &self.sleeper.is_some())
            .finish()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            max_total: Duration::from_secs(300),
            jitter: 0.2,
            max_body: DEFAULT_MAX_BODY,
            sleeper: None,
        }
    }
}

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct BufferedResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// Attempts made (1 = no retry).
    pub attempts: u32,
}

impl BufferedResponse {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why a request could not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connection, TLS, timeout or body errors, after the retries.
    #[error("{method} {url} failed after {attempts} attempt(s): {source}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL (redacted).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last error (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// The cancellation token fired.
    #[error("{method} {url} was cancelled")]
    Canceled {
        /// The method.
        method: Method,
        /// The URL (redacted).
        url: String,
        /// The marker the tasks look for.
        #[source]
        source: Canceled,
    },
    /// The request could not be built (bad header value, body...).
    #[error("the request {method} {url} could not be built: {problem}")]
    Build {
        /// The method.
        method: Method,
        /// The URL (redacted).
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The URL is refused by [`check_url`].
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The response body is larger than [`RetryPolicy::max_body`] (announced by `Content-Length` or found while
    /// reading); nothing beyond the limit is kept.
    #[error("{method} {url}: the response body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The method.
        method: Method,
        /// The URL (redacted).
        url: String,
        /// The limit.
        limit: usize,
    },
}

impl RetryPolicy {
    /// No retries (one attempt).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Use `sleeper` for waits instead of `tokio::time::sleep`.
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = Some(sleeper);
        self
    }

    /// Whether `status` is worth another attempt.
    pub fn is_retryable_status(status: StatusCode, headers: &HeaderMap, idempotency: Idempotency) -> bool {
        match idempotency {
            Idempotency::Idempotent => matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504),
            Idempotency::NonIdempotent => {
                status.as_u16() == 429 || (status.as_u16() == 503 && server_delay(headers).is_some())
            }
        }
    }

    /// Whether a transport error is worth another attempt.
    pub fn is_retryable_error(err: &reqwest::Error, idempotency: Idempotency) -> bool {
        match idempotency {
            Idempotency::Idempotent => {
                err.is_connect() || err.is_timeout() || err.is_request() || err.is_body() || err.is_decode()
            }
            Idempotency::NonIdempotent => err.is_connect(),
        }
    }

    /// The backoff before attempt `attempt + 1` (`attempt` counts from 1), with jitter, ignoring headers.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let base = exp.min(self.max_backoff);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return base;
        }
        let factor = 1.0 + rand::random_range(-jitter..=jitter);
        clamp_secs(base.as_secs_f64() * factor).min(self.max_backoff)
    }

    /// The wait before the next attempt: the server's `x-ms-retry-after-ms` or `Retry-After` if present, else
    /// [`RetryPolicy::backoff`].
    pub fn delay(&self, attempt: u32, headers: Option<&HeaderMap>) -> Duration {
        headers
            .and_then(server_delay)
            .unwrap_or_else(|| self.backoff(attempt))
    }

    /// Wait `d`, or return `Err(Canceled)` if `cancel` fires first.
    pub async fn sleep(&self, d: Duration, cancel: &CancellationToken) -> Result<(), Canceled> {
        let fut: BoxFuture<'static, ()> = match &self.sleeper {
            Some(s) => s(d),
            None => Box::pin(tokio::time::sleep(d)),
        };
        tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(Canceled),
            _ = fut => Ok(()),
        }
    }

    /// Send a request, retrying per the policy, and return the response (headers read, body not). A retryable
    /// status on the last attempt is returned as a response: the caller turns statuses into errors.
    ///
    /// `build` is called once per attempt and must produce the same request each time.
    pub async fn send<F>(
        &self,
        cancel: &CancellationToken,
        idempotency: Idempotency,
        build: F,
    ) -> Result<reqwest::Response, SendError>
    where
        F: FnMut() -> reqwest::RequestBuilder,
    {
        self.run(cancel, idempotency, build, |resp| async move { Ok(resp) })
            .await
            .map(|(r, _)| r)
    }

    /// Like [`RetryPolicy::send`], but reads the body within the attempt, so a connection reset while reading it is
    /// retried too.
    pub async fn execute<F>(
        &self,
        cancel: &CancellationToken,
        idempotency: Idempotency,
        mut build: F,
    ) -> Result<BufferedResponse, SendError>
    where
        F: FnMut() -> reqwest::RequestBuilder,
    {
        let limit = self.max_body;
        let (resp, attempts) = self
            .run(cancel, idempotency, &mut build, |mut resp| async move {
                let status = resp.status();
                let headers = resp.headers().clone();
                let shown = redact_url(resp.url());
                let announced = resp.content_length().unwrap_or(0);
                if announced > limit as u64 {
                    return Ok(Limited::TooLarge(shown));
                }
                // Never trust Content-Length for the allocation: grow as the bytes arrive, up to the limit.
                let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0).min(1024 * 1024));
                while let Some(chunk) = resp.chunk().await? {
                    if body.len().saturating_add(chunk.len()) > limit {
                        return Ok(Limited::TooLarge(shown));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(Limited::Read(BufferedResponse {
                    status,
                    headers,
                    body: Bytes::from(body),
                    attempts: 0,
                }))
            })
            .await?;
        match resp {
            Limited::Read(resp) => Ok(BufferedResponse { attempts, ..resp }),
            Limited::TooLarge(url) => Err(SendError::TooLarge {
                method: build().build().map_or(Method::GET, |r| r.method().clone()),
                url,
                limit,
            }),
        }
    }

    async fn run<F, R, Fut, Fin>(
        &self,
        cancel: &CancellationToken,
        idempotency: Idempotency,
        mut build: F,
        finish: Fin,
    ) -> Result<(R, u32), SendError>
    where
        F: FnMut() -> reqwest::RequestBuilder,
        Fin: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<R, reqwest::Error>>,
        R: HasStatus,
    {
        let start = tokio::time::Instant::now();
        let max_attempts = self.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (client, request) = build().build_split();
            let request = match request {
                Ok(r) => r,
                Err(e) => {
                    return Err(SendError::Build {
                        method: Method::GET,
                        url: e.url().map(redact_url).unwrap_or_default(),
                        problem: e.without_url().to_string(),
                    });
                }
            };
            let method = request.method().clone();
            let url = request.url().clone();
            check_url(&url)?;
            let shown = redact_url(&url);
            let outcome = tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    return Err(SendError::Canceled { method, url: shown, source: Canceled });
                }
                r = async {
                    let resp = client.execute(request).await?;
                    finish(resp).await
                } => r,
            };
            let last = attempt >= max_attempts;
            let (delay, reason) = match outcome {
                Ok(r) => {
                    let status = r.status();
                    if last || !Self::is_retryable_status(status, r.headers(), idempotency) {
                        return Ok((r, attempt));
                    }
                    if server_delay(r.headers()).is_some_and(|w| w > self.max_retry_after) {
                        tracing::debug!(%method, url = %shown, "the server asks for a longer wait than allowed");
                        return Ok((r, attempt));
                    }
                    let delay = self.delay(attempt, Some(r.headers()));
                    if start.elapsed().saturating_add(delay) > self.max_total {
                        tracing::debug!(%method, url = %shown, "retry time budget exhausted");
                        return Ok((r, attempt));
                    }
                    (delay, format!("HTTP {}", status.as_u16()))
                }
                Err(e) => {
                    let delay = self.delay(attempt, None);
                    if last
                        || !Self::is_retryable_error(&e, idempotency)
                        || start.elapsed().saturating_add(delay) > self.max_total
                    {
                        return Err(SendError::Transport {
                            method,
                            url: shown,
                            attempts: attempt,
                            source: e.without_url(),
                        });
                    }
                    (delay, error_summary(&e))
                }
            };
            tracing::info!(
                %method, url = %shown, attempt, reason = %reason, delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            self.sleep(delay, cancel)
                .await
                .map_err(|source| SendError::Canceled {
                    method: method.clone(),
                    url: shown.clone(),
                    source,
                })?;
        }
    }
}

trait HasStatus {
    fn status(&self) -> StatusCode;
    fn headers(&self) -> &HeaderMap;
}

impl HasStatus for reqwest::Response {
    fn status(&self) -> StatusCode {
        reqwest::Response::status(self)
    }
    fn headers(&self) -> &HeaderMap {
        reqwest::Response::headers(self)
    }
}

/// A body read within the limit, or the marker that it was larger (with the redacted URL; never retried).
enum Limited {
    Read(BufferedResponse),
    TooLarge(String),
}

impl HasStatus for Limited {
    fn status(&self) -> StatusCode {
        match self {
            Limited::Read(r) => r.status,
            Limited::TooLarge(_) => StatusCode::OK,
        }
    }
    fn headers(&self) -> &HeaderMap {
        static EMPTY: std::sync::OnceLock<HeaderMap> = std::sync::OnceLock::new();
        match self {
            Limited::Read(r) => &r.headers,
            Limited::TooLarge(_) => EMPTY.get_or_init(HeaderMap::new),
        }
    }
}

impl HasStatus for BufferedResponse {
    fn status(&self) -> StatusCode {
        self.status
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// A short description of a transport error, without URL.
pub fn error_summary(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "body read failed"
    } else {
        "request failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The wait a response asks for: `x-ms-retry-after-ms` (milliseconds), `retry-after-ms`, or `Retry-After` (seconds
/// or an HTTP date; a date in the past means no wait). Clamped to [`MAX_SERVER_DELAY`]; never panics.
pub fn server_delay(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["x-ms-retry-after-ms", "retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<f64>().ok())
            && !ms.is_nan()
            && ms >= 0.0
        {
            return Some(clamp_secs(ms / 1000.0));
        }
    }
    let value = text("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (!secs.is_nan() && secs >= 0.0).then(|| clamp_secs(secs));
    }
    let when = parse_http_date(value)?;
    let now = time::OffsetDateTime::now_utc();
    let diff = when - now;
    Some(if diff.is_positive() {
        Duration::try_from(diff)
            .unwrap_or(MAX_SERVER_DELAY)
            .min(MAX_SERVER_DELAY)
    } else {
        Duration::ZERO
    })
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) or RFC 2822 date.
pub fn parse_http_date(value: &str) -> Option<time::OffsetDateTime> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    if let Ok(dt) = time::PrimitiveDateTime::parse(value.trim(), &fmt) {
        return Some(dt.assume_utc());
    }
    time::OffsetDateTime::parse(value.trim(), &time::format_description::well_known::Rfc2822).ok()
}

/// Format an HTTP date (for tests and the local workspace).
pub fn format_http_date(when: time::OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    when.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(server_delay(&h), Some(Duration::from_secs(7)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(server_delay(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let future = time::OffsetDateTime::now_utc() + time::Duration::seconds(30);
        h.insert(
            "retry-after",
            HeaderValue::from_str(&format_http_date(future)).unwrap(),
        );
        let d = server_delay(&h).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            "retry-after",
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        assert_eq!(server_delay(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(server_delay(&h), None);
    }

    #[test]
    fn hostile_waits_are_clamped_not_panics() {
        let mut h = HeaderMap::new();
        for (value, expect) in [
            ("1e20", MAX_SERVER_DELAY),
            ("inf", MAX_SERVER_DELAY),
            ("1.7976931348623157e308", MAX_SERVER_DELAY),
            ("0.5", Duration::from_millis(500)),
        ] {
            h.insert("retry-after", HeaderValue::from_str(value).unwrap());
            assert_eq!(server_delay(&h), Some(expect), "{value}");
        }
        for value in ["-5", "NaN"] {
            h.insert("retry-after", HeaderValue::from_str(value).unwrap());
            assert_eq!(server_delay(&h), None, "{value}");
        }
        let mut h = HeaderMap::new();
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("1e300"));
        assert_eq!(server_delay(&h), Some(MAX_SERVER_DELAY));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            HeaderValue::from_static("Fri, 31 Dec 9999 23:59:59 GMT"),
        );
        assert_eq!(server_delay(&h), Some(MAX_SERVER_DELAY));
        assert_eq!(clamp_secs(f64::NAN), Duration::ZERO);
        assert_eq!(clamp_secs(-1.0), Duration::ZERO);
        // A huge configured backoff with jitter must not overflow either.
        let p = RetryPolicy {
            initial_backoff: Duration::MAX,
            max_backoff: Duration::MAX,
            ..RetryPolicy::default()
        };
        assert!(p.backoff(30) <= MAX_SERVER_DELAY);
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(2), Duration::from_secs(2));
        assert_eq!(p.backoff(3), Duration::from_secs(4));
        assert_eq!(p.backoff(10), Duration::from_secs(30));
        let p = RetryPolicy::default();
        for _ in 0..50 {
            let d = p.backoff(2);
            assert!(
                d >= Duration::from_millis(1600) && d <= Duration::from_millis(2400),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retryable_statuses() {
        let h = HeaderMap::new();
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::is_retryable_status(
                StatusCode::from_u16(s).unwrap(),
                &h,
                Idempotency::Idempotent
            ));
        }
        for s in [400, 401, 403, 404, 409, 501] {
            assert!(!RetryPolicy::is_retryable_status(
                StatusCode::from_u16(s).unwrap(),
                &h,
                Idempotency::Idempotent
            ));
        }
        assert!(RetryPolicy::is_retryable_status(
            StatusCode::TOO_MANY_REQUESTS,
            &h,
            Idempotency::NonIdempotent
        ));
        assert!(!RetryPolicy::is_retryable_status(
            StatusCode::BAD_GATEWAY,
            &h,
            Idempotency::NonIdempotent
        ));
        assert!(!RetryPolicy::is_retryable_status(
            StatusCode::SERVICE_UNAVAILABLE,
            &h,
            Idempotency::NonIdempotent
        ));
    }
}
