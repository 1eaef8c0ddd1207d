//! The one error type of the crate. It never contains a token, key or SAS: URLs are redacted
//! ([`crate::http::redact_url`]) and body excerpts pass through [`redact_body`].

use std::fmt;
use std::sync::LazyLock;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::http::{SendError, UrlError};

/// An ARM error (`ErrorResponse.error`, common-types v3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArmError {
    /// The error code (`ResourceNotFound`, `UserError`...).
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// The target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Nested errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<ArmError>,
    /// Additional info (`{type, info}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<serde_json::Value>,
}

impl ArmError {
    /// Parse `{"error": {...}}` (or a bare error object) from a body.
    pub fn from_body(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let obj = value.get("error").unwrap_or(&value);
        let err: ArmError = serde_json::from_value(obj.clone()).ok()?;
        (err.code.is_some() || err.message.is_some()).then_some(err)
    }
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, "{c}: {m}")?,
            (Some(c), None) => write!(f, "{c}")?,
            (None, Some(m)) => write!(f, "{m}")?,
            (None, None) => write!(f, "unknown error")?,
        }
        for d in &self.details {
            write!(f, " [{d}]")?;
        }
        Ok(())
    }
}

/// What kind of failure an [`AzureMlError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service answered with an error status (after retries).
    Status,
    /// Connection, TLS or timeout errors (after retries).
    Transport,
    /// The cancellation token fired. The source chain holds [`amlops_agent::Canceled`].
    Canceled,
    /// A long-running operation or wait did not finish in time.
    Timeout,
    /// The response body could not be understood.
    Decode,
    /// A long-running operation ended Failed or Canceled.
    OperationFailed,
    /// No token could be obtained.
    Authentication,
    /// Bad input from the caller (names, paths, URLs).
    InvalidInput,
    /// Local file system errors (uploads).
    Io,
    /// The HTTP client could not be set up.
    Setup,
}

/// An error of an Azure ML operation, with everything a user needs to act on it. The details are boxed (the
/// error stays one pointer wide) and reachable as fields through `Deref` (`err.status`, `err.arm`...).
#[derive(Debug)]
pub struct AzureMlError(Box<ErrorDetails>);

/// The fields of an [`AzureMlError`].
#[derive(Debug)]
pub struct ErrorDetails {
    /// The kind.
    pub kind: ErrorKind,
    /// The operation (`jobs.get`, `onlineEndpoints.createOrUpdate`, `upload`...).
    pub operation: String,
    /// The HTTP method, if a request was involved.
    pub method: Option<Method>,
    /// The URL, redacted.
    pub url: Option<String>,
    /// The HTTP status.
    pub status: Option<u16>,
    /// The ARM error from the body.
    pub arm: Option<ArmError>,
    /// `x-ms-request-id`.
    pub request_id: Option<String>,
    /// `x-ms-correlation-request-id`.
    pub correlation_id: Option<String>,
    /// The start of the body, secrets redacted.
    pub body_excerpt: Option<String>,
    /// A description when there is no ARM error.
    pub message: String,
    /// Attempts made.
    pub attempts: Option<u32>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl std::ops::Deref for AzureMlError {
    type Target = ErrorDetails;
    fn deref(&self) -> &ErrorDetails {
        &self.0
    }
}

impl std::ops::DerefMut for AzureMlError {
    fn deref_mut(&mut self) -> &mut ErrorDetails {
        &mut self.0
    }
}

impl AzureMlError {
    /// A new error of `kind` for `operation`.
    pub fn new(kind: ErrorKind, operation: impl Into<String>, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorDetails {
            kind,
            operation: operation.into(),
            method: None,
            url: None,
            status: None,
            arm: None,
            request_id: None,
            correlation_id: None,
            body_excerpt: None,
            message: message.into(),
            attempts: None,
            source: None,
        }))
    }

    /// Bad input.
    pub fn invalid_input(operation: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, operation, message)
    }

    /// The operation was cancelled.
    pub fn canceled(operation: impl Into<String>) -> Self {
        Self::new(ErrorKind::Canceled, operation, "cancelled").with_source(amlops_agent::Canceled)
    }

    /// Attach the request.
    pub fn with_request(mut self, method: &Method, url: impl Into<String>) -> Self {
        self.method = Some(method.clone());
        self.url = Some(url.into());
        self
    }

    /// Attach a source error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Attach the response's status, ids, ARM error and excerpt. `secret_body` suppresses the excerpt.
    pub fn with_response(mut self, status: u16, headers: &HeaderMap, body: &[u8], secret_body: bool) -> Self {
        self.status = Some(status);
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        self.request_id = h("x-ms-request-id").or_else(|| h("x-request-id"));
        self.correlation_id = h("x-ms-correlation-request-id");
        self.arm = ArmError::from_body(body);
        if !secret_body && !body.is_empty() {
            self.body_excerpt = Some(excerpt(body));
        }
        self
    }

    /// Whether this error (or its chain) is a cancellation.
    pub fn is_canceled(&self) -> bool {
        self.kind == ErrorKind::Canceled
    }

    /// Whether the service said 404.
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }

    /// Build from a [`SendError`].
    pub fn from_send(operation: &str, err: SendError) -> Self {
        match err {
            SendError::Canceled { method, url, .. } => Self::canceled(operation).with_request(&method, url),
            SendError::Transport {
                ref method,
                ref url,
                attempts,
                ..
            } => {
                let (method, url) = (method.clone(), url.clone());
                let mut e = Self::new(ErrorKind::Transport, operation, "the request failed")
                    .with_request(&method, url);
                e.attempts = Some(attempts);
                e.with_source(err)
            }
            SendError::Build {
                ref method,
                ref url,
                ref problem,
            } => {
                let (method, url, problem) = (method.clone(), url.clone(), problem.clone());
                Self::invalid_input(operation, problem).with_request(&method, url)
            }
            SendError::Url(u) => Self::from_url(operation, u),
            SendError::TooLarge { method, url, limit } => Self::new(
                ErrorKind::Decode,
                operation,
                format!("the response body is larger than the limit of {limit} bytes"),
            )
            .with_request(&method, url),
        }
    }

    /// Build from a refused URL.
    pub fn from_url(operation: &str, err: UrlError) -> Self {
        Self::new(ErrorKind::InvalidInput, operation, err.to_string())
    }
}

impl fmt::Display for AzureMlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation)?;
        match (&self.arm, self.kind) {
            (Some(arm), _) => write!(f, " failed: {arm}")?,
            (None, ErrorKind::Canceled) => write!(f, " was cancelled")?,
            (None, _) => write!(f, " failed: {}", self.message)?,
        }
        let mut extra = Vec::new();
        if let (Some(m), Some(u)) = (&self.method, &self.url) {
            extra.push(format!("{m} {u}"));
        }
        if let Some(s) = self.status {
            extra.push(format!("HTTP {s}"));
        }
        if let Some(a) = self.attempts.filter(|a| *a > 1) {
            extra.push(format!("{a} attempts"));
        }
        if let Some(r) = &self.request_id {
            extra.push(format!("x-ms-request-id {r}"));
        }
        if let Some(c) = &self.correlation_id {
            extra.push(format!("x-ms-correlation-request-id {c}"));
        }
        if self.arm.is_none()
            && let Some(b) = &self.body_excerpt
        {
            extra.push(format!("body: {b}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join("; "))?;
        }
        if let Some(advice) = self.advice() {
            write!(f, ". To fix: {}", advice.text)?;
        }
        Ok(())
    }
}

impl std::error::Error for AzureMlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The longest body excerpt kept in errors.
pub const EXCERPT_LEN: usize = 400;

/// The first [`EXCERPT_LEN`] characters of a body, secrets redacted, on one line.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = redact_body(&text);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > EXCERPT_LEN {
        let cut: String = one_line.chars().take(EXCERPT_LEN).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

static SECRET_JSON: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?i)("[A-Za-z_]*(?:key|token|secret|password|sas[A-Za-z]*|sasUri|credential|assertion|connectionString)"\s*:\s*)"(?:[^"\\]|\\.)*""#,
    )
    .expect("a valid regular expression")
});

/// A query value: up to the next separator in any escaping (`&`, `%26`, `\u0026`, a quote, a space, `<`, `#`),
/// percent escapes other than `%26` and JSON's `\/` included.
const QUERY_VALUE: &str = r#"(?:[^&\s"'<>\\%#]|%(?:[013-9A-Fa-f][0-9A-Fa-f]|2[0-57-9A-Fa-f])|\\/)*"#;

/// A query pair after a separator in any escaping: `?` or `&` raw, HTML-escaped (`&amp;`), percent-encoded
/// (`%3F`, `%26`), JSON-escaped (`\u003f`, `\u0026`, also escaped twice).
static QUERY_PAIR: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(&format!(
        r#"(?i)(\?|&amp;|&|%3F|%26|\\+u003F|\\+u0026)([A-Za-z0-9_.$-]+)(=|%3D|\\+u003D)({QUERY_VALUE})"#
    ))
    .expect("a valid regular expression")
});

/// Secret pairs wherever they start (a bare SAS token, a form body): the name must not continue a word.
static SECRET_PAIR: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(&format!(
        r#"(?i)(^|[^A-Za-z_])(sig|signature|code|access_token|refresh_token|client_secret|client_assertion|password)(=|%3D|\\+u003D)({QUERY_VALUE})"#
    ))
    .expect("a valid regular expression")
});

static BEARER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+").expect("a valid regular expression")
});

/// Replace the values of secret-looking JSON keys (`*key`, `*token`, `*secret`, `sas*`...), every URL query
/// value whose name is not on the allow-list [`crate::http::SAFE_QUERY_KEYS`] (whatever the escaping of its
/// separator and `=`: `&`, `&amp;`, `%26`, `\u0026`; `%3D`, `\u003d`), SAS signatures and other secret pairs
/// anywhere, and bearer tokens, with `REDACTED`. The one redaction of text: body logging, error excerpts,
/// messages.
pub fn redact_body(text: &str) -> String {
    let t = SECRET_JSON.replace_all(text, r#"${1}"REDACTED""#);
    let t = QUERY_PAIR.replace_all(&t, |c: &regex::Captures<'_>| {
        let key = &c[2];
        if crate::http::is_safe_query_key(key) || c[4].is_empty() {
            c[0].to_string()
        } else {
            format!("{}{key}{}REDACTED", &c[1], &c[3])
        }
    });
    let t = SECRET_PAIR.replace_all(&t, |c: &regex::Captures<'_>| {
        if &c[4] == "REDACTED" || c[4].is_empty() {
            c[0].to_string()
        } else {
            format!("{}{}{}REDACTED", &c[1], &c[2], &c[3])
        }
    });
    BEARER.replace_all(&t, "Bearer REDACTED").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secrets_in_bodies() {
        let body = r#"{"primaryKey":"abc","secondaryKey":"def","sasUri":"https://a/b?sv=1&sig=XYZ","name":"n","accessToken":"tok","x":"Bearer eyJ.a.b"}"#;
        let r = redact_body(body);
        for s in ["abc", "def", "XYZ", "tok", "eyJ"] {
            assert!(!r.contains(s), "{s} in {r}");
        }
        assert!(r.contains(r#""name":"n""#));
        assert_eq!(
            redact_body("url?api-version=1&sig=abc%2F&comp=list"),
            "url?api-version=1&sig=REDACTED&comp=list"
        );
    }

    const SIG: &str = "Zm9vYmFyc2VjcmV0c2ln%2B%2F%3D";

    /// Every escaping of a SAS in text: the signature and the other non-allow-listed values are masked, the
    /// allow-listed ones kept.
    #[test]
    fn sas_signatures_are_masked_in_every_escaping() {
        let forms = [
            // raw
            format!("GET https://a.blob.core.windows.net/c/b?sv=2024-01-01&se=2026&sig={SIG}&comp=list x"),
            // the first pair
            format!("https://a.blob.core.windows.net/c/b?sig={SIG}"),
            // percent-encoded (a SAS URL inside another URL's query)
            format!("https://h/x?u=https%3A%2F%2Fa.blob%2Fc%3Fsv%3D1%26sig%3D{SIG}%26comp%3Dlist"),
            format!("redirect%3Fsv=1%26sig={SIG}%26api-version=2"),
            // JSON-escaped, once and twice
            format!(r#"{{"dataUri":"https://a.blob/c?sv=1\u0026sig={SIG}\u0026comp=list"}}"#),
            format!(r#""msg":"see https://a.blob/c\u003Fsig={SIG}""#),
            format!(r#"{{\"u\":\"https://a.blob/c?sv=1\\u0026sig={SIG}\"}}"#),
            // JSON with escaped slashes in the value
            r#"{"u":"https://a.blob/c?sv=1&sig=abc\/Zm9vYmFyc2VjcmV0c2ln"}"#.to_string(),
            // HTML/XML-escaped
            format!("<Url>https://a.blob/c?sv=1&amp;sig={SIG}&amp;comp=list</Url>"),
            // a bare SAS token and a form body
            format!("sv=1&sig={SIG}"),
            format!("sig={SIG}"),
            format!("token sv=1&ss=b;sig={SIG} done"),
        ];
        for form in &forms {
            let r = redact_body(form);
            assert!(!r.contains("Zm9vYmFyc2VjcmV0c2ln"), "{form}\n -> {r}");
            assert!(r.contains("REDACTED"), "{form} -> {r}");
        }
        // Allow-listed values stay; the others go, whatever their name.
        let r = redact_body("https://h/x?api-version=2026-07-01&skoid=OID&code=FUNCKEY&comp=list&st=2026");
        assert_eq!(
            r,
            "https://h/x?api-version=2026-07-01&skoid=REDACTED&code=REDACTED&comp=list&st=REDACTED"
        );
        let r = redact_body(r#"{"nextLink":"https://h/x?api-version=1\u0026$skiptoken=SKIPSECRET"}"#);
        assert!(!r.contains("SKIPSECRET") && r.contains("api-version=1"), "{r}");
        // Text that is not a query is left alone.
        assert_eq!(redact_body("a = b & c"), "a = b & c");
        assert_eq!(redact_body("design=x"), "design=x");
    }

    #[test]
    fn arm_error_parses() {
        let e = ArmError::from_body(
            br#"{"error":{"code":"UserError","message":"bad","details":[{"code":"Inner","message":"m"}]}}"#,
        )
        .unwrap();
        assert_eq!(e.code.as_deref(), Some("UserError"));
        assert_eq!(e.details.len(), 1);
        assert_eq!(e.to_string(), "UserError: bad [Inner: m]");
        assert!(ArmError::from_body(b"not json").is_none());
    }

    #[test]
    fn canceled_is_in_the_chain() {
        let e = AzureMlError::canceled("jobs.get");
        let src = std::error::Error::source(&e).unwrap();
        assert!(src.downcast_ref::<amlops_agent::Canceled>().is_some());
    }
}
